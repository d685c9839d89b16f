package replication

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"sync"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

// Reserved logstore kinds for raft's configuration entries. Application
// kinds (brokerlog's) are 1..KindConfChange-1; KindNoop is raft's empty
// leader entry.
const (
	KindConfChange   logstore.Kind = 254
	KindConfChangeV2 logstore.Kind = 255
)

// StorageOptions configure a Storage.
type StorageOptions struct {
	FS  vfs.FS // required
	Dir string // required: holds the state file and the log directory "log"
	// Peers are the voters of a group that has no state file yet (a new
	// group). Ignored once the state file exists.
	Peers []uint64
	// Join makes a storage without a state file start with no
	// configuration at all instead of Peers: a member being added to a
	// running group (AddMember), which learns the configuration from the
	// leader's snapshot or log. A member id is never reused: a node whose
	// disk was replaced joins under a new id (doc.go, "Lost disk").
	Join bool
	// SegmentBytes is passed to logstore (default: logstore's).
	SegmentBytes int64
	// Snapshot is unused and kept for compatibility: snapshot data comes
	// from Options.StateMachine and is kept in the storage's snapshot file.
	//
	// Deprecated: set Options.StateMachine instead.
	Snapshot func() ([]byte, error)
	Logf     func(format string, args ...any)
}

// Storage is raft.Storage over a logstore.Log plus a small state file for
// HardState, ConfState and the snapshot position. Entries map 1:1 to log
// records (see entryToRecord). Safe for concurrent use; writes (Append,
// SetHardState) come from the one node loop.
type Storage struct {
	opts StorageOptions
	log  *logstore.Log

	mu       sync.Mutex // guards st, saved, snapKeep
	st       persistentState
	saved    persistentState // what the state file holds
	snapKeep uint64          // first index the latest snapshot retains (snapshot_payload.go)

	buildMu sync.Mutex // guards build; taken before mu, never while holding it
	build   *snapBuild // a snapshot being built for sending (snapshot_send.go)
	buildWG sync.WaitGroup
}

var _ raft.Storage = (*Storage)(nil)

// OpenStorage opens (creating if needed) the storage in o.Dir.
func OpenStorage(o StorageOptions) (*Storage, error) {
	if o.FS == nil || o.Dir == "" {
		return nil, errors.New("replication: StorageOptions.FS and Dir are required")
	}
	if err := o.FS.MkdirAll(o.Dir); err != nil {
		return nil, fmt.Errorf("replication: create %s: %w", o.Dir, err)
	}
	st, ok, err := loadState(o.FS, o.Dir)
	if err != nil {
		return nil, err
	}
	l, err := logstore.Open(logstore.Options{FS: o.FS, Dir: path.Join(o.Dir, "log"), SegmentBytes: o.SegmentBytes, Logf: o.Logf})
	if err != nil {
		return nil, err
	}
	s := &Storage{opts: o, log: l}
	if !ok {
		if len(o.Peers) == 0 && !o.Join {
			l.Close()
			return nil, errors.New("replication: a new group needs StorageOptions.Peers (or Join)")
		}
		st = persistentState{}
		if !o.Join {
			st.conf.voters = slices.Clone(o.Peers)
		}
		if err := saveState(o.FS, o.Dir, &st); err != nil {
			l.Close()
			return nil, err
		}
	}
	if err := s.reconcileSnapshot(&st); err != nil {
		l.Close()
		return nil, err
	}
	// The commit index in the file may lag (it is saved with term/vote
	// changes only); never let it point past the log.
	st.commit = min(st.commit, max(l.LastIndex(), st.snapIndex))
	s.st, s.saved = st, st
	return s, nil
}

// Log returns the underlying log (for readers of applied entries).
func (s *Storage) Log() *logstore.Log { return s.log }

// InitialState implements raft.Storage.
func (s *Storage) InitialState() (*pb.HardState, *pb.ConfState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hardStateLocked(), s.confStateLocked(), nil
}

func (s *Storage) hardStateLocked() *pb.HardState {
	return &pb.HardState{Term: new(s.st.term), Vote: new(s.st.vote), Commit: new(s.st.commit)}
}

func (s *Storage) confStateLocked() *pb.ConfState { return s.st.conf.toPB() }

// FirstIndex implements raft.Storage. Entries below the snapshot stay
// available while the log still holds them (slow followers catch up from
// the log, not a snapshot). The log never starts after snapshot+1:
// Compact stops there and OpenStorage and ApplySnapshot reset it there.
func (s *Storage) FirstIndex() (uint64, error) { return s.log.FirstIndex(), nil }

// LastIndex implements raft.Storage.
func (s *Storage) LastIndex() (uint64, error) {
	s.mu.Lock()
	snap := s.st.snapIndex
	s.mu.Unlock()
	return max(s.log.LastIndex(), snap), nil
}

// Term implements raft.Storage: the snapshot's term at its index, the
// log's where it holds the entry, ErrCompacted below the log's first,
// ErrUnavailable past the last entry.
func (s *Storage) Term(i uint64) (uint64, error) {
	s.mu.Lock()
	snapIndex, snapTerm := s.st.snapIndex, s.st.snapTerm
	s.mu.Unlock()
	if i == snapIndex {
		return snapTerm, nil
	}
	t, err := s.log.Term(i)
	return t, mapErr(err)
}

// Entries implements raft.Storage: entries lo..hi-1, at least one if
// lo < hi, stopping once maxSize bytes of data are reached.
func (s *Storage) Entries(lo, hi, maxSize uint64) ([]*pb.Entry, error) {
	first, _ := s.FirstIndex()
	if lo < first {
		return nil, raft.ErrCompacted
	}
	if last, _ := s.LastIndex(); hi > last+1 {
		return nil, raft.ErrUnavailable
	}
	recs, err := s.log.Entries(lo, hi, maxSize)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]*pb.Entry, len(recs))
	for i := range recs {
		out[i] = recordToEntry(&recs[i])
	}
	return out, nil
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, logstore.ErrCompacted):
		return raft.ErrCompacted
	case errors.Is(err, logstore.ErrUnavailable):
		return raft.ErrUnavailable
	}
	return err
}

// Append writes ents (a Ready's Entries) to the log, first cutting any
// conflicting suffix, without syncing. Called by the node loop only.
func (s *Storage) Append(ents []*pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	if first := ents[0].GetIndex(); first <= s.log.LastIndex() {
		if err := s.log.TruncateSuffix(first); err != nil {
			return err
		}
	}
	recs := make([]logstore.Entry, len(ents))
	for i, e := range ents {
		recs[i] = entryToRecord(e)
	}
	return s.log.Append(recs)
}

// Sync makes appended entries durable.
func (s *Storage) Sync() error { return s.log.Sync() }

// SetHardState records hs. The state file is rewritten (durably) only when
// term or vote changed, as raft requires before any message is sent; the
// commit index rides along then and at Close.
func (s *Storage) SetHardState(hs *pb.HardState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.term, s.st.vote, s.st.commit = hs.GetTerm(), hs.GetVote(), hs.GetCommit()
	if s.st.term == s.saved.term && s.st.vote == s.saved.vote {
		return nil
	}
	return s.saveLocked()
}

// SetConfState records a configuration applied from a conf-change entry.
func (s *Storage) SetConfState(cs *pb.ConfState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.conf = confFromPB(cs)
	return s.saveLocked()
}

func (s *Storage) saveLocked() error {
	st := s.st
	if err := saveState(s.opts.FS, s.opts.Dir, &st); err != nil {
		return err
	}
	s.saved = st
	return nil
}

// Close saves the latest commit index (best effort) and closes the log.
func (s *Storage) Close() error {
	s.buildWG.Wait() // a snapshot build reads the log
	s.dropBuild()
	s.mu.Lock()
	var serr error
	if s.st.commit != s.saved.commit && s.log.Broken() == nil {
		serr = s.saveLocked()
	}
	s.mu.Unlock()
	if err := s.log.Close(); err != nil {
		return err
	}
	return serr
}

// entryToRecord maps a raft entry to a log record: a normal entry's Data is
// kind byte + payload (Node.Propose builds it), an empty one is KindNoop,
// conf changes keep their encoded bytes under the reserved kinds.
func entryToRecord(e *pb.Entry) logstore.Entry {
	r := logstore.Entry{Index: e.GetIndex(), Term: e.GetTerm()}
	switch e.GetType() {
	case pb.EntryConfChange:
		r.Kind, r.Data = KindConfChange, e.GetData()
	case pb.EntryConfChangeV2:
		r.Kind, r.Data = KindConfChangeV2, e.GetData()
	default:
		if d := e.GetData(); len(d) > 0 {
			r.Kind, r.Data = logstore.Kind(d[0]), d[1:]
		}
	}
	return r
}

// recordToEntry is entryToRecord's inverse; it copies the data.
func recordToEntry(r *logstore.Entry) *pb.Entry {
	e := &pb.Entry{Index: new(r.Index), Term: new(r.Term)}
	switch r.Kind {
	case KindConfChange:
		e.Type, e.Data = pb.EntryConfChange.Enum(), slices.Clone(r.Data)
	case KindConfChangeV2:
		e.Type, e.Data = pb.EntryConfChangeV2.Enum(), slices.Clone(r.Data)
	case logstore.KindNoop:
		e.Type = pb.EntryNormal.Enum()
		if len(r.Data) > 0 {
			e.Data = append([]byte{0}, r.Data...)
		}
	default:
		e.Type = pb.EntryNormal.Enum()
		e.Data = append([]byte{byte(r.Kind)}, r.Data...)
	}
	return e
}
