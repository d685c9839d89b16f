package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

// snapFile is the name, inside StorageOptions.Dir, of the file holding the
// latest snapshot: the state machine's bytes as of an index, with that
// index, its term and the configuration there. Format (little endian):
//
//	magic "NSQSNAP2" | index u64 | term u64 | conf (as in the state file) |
//	dataLen u64 | data | crc32c u32 (of everything before it)
//
// data is a snapPayload (snapshot_payload.go): the state machine's bytes
// and the entries it retains. A file with magic "NSQSNAP1" (before
// retained entries existed) has the state machine's bytes as data.
//
// It is replaced like the state file (tmp, sync, rename, sync dir). The
// snapshot file is the commit point of a snapshot: the state file's
// snapIndex follows it, and OpenStorage completes a snapshot whose state
// file update or log reset a crash interrupted (see reconcileSnapshot).
const snapFile = "snapshot"

const (
	snapMagic   = "NSQSNAP2"
	snapMagicV1 = "NSQSNAP1"
)

// maxSnapshotBytes bounds a snapshot: it travels as one raft message in one
// transport frame (maxFrame).
const maxSnapshotBytes = maxFrame - 1<<20

// ErrSnapshotTooLarge: the state machine's snapshot exceeds maxSnapshotBytes.
var ErrSnapshotTooLarge = errors.New("replication: snapshot larger than the transport's frame limit")

type snapMeta struct {
	index, term uint64
	conf        confState
}

func encodeSnapshot(m *snapMeta, data []byte) []byte {
	b := make([]byte, 0, len(snapMagic)+16+64+8+len(data)+4)
	b = append(b, snapMagic...)
	b = binary.LittleEndian.AppendUint64(b, m.index)
	b = binary.LittleEndian.AppendUint64(b, m.term)
	b = m.conf.encode(b)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeSnapshot(b []byte) (snapMeta, []byte, error) {
	var m snapMeta
	if len(b) < len(snapMagic)+16+4 || (string(b[:len(snapMagic)]) != snapMagic && string(b[:len(snapMagic)]) != snapMagicV1) {
		return m, nil, fmt.Errorf("%w: snapshot: bad header or size %d", ErrCorruptState, len(b))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return m, nil, fmt.Errorf("%w: snapshot: checksum mismatch", ErrCorruptState)
	}
	p := body[len(snapMagic):]
	m.index, m.term = binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
	conf, p, err := decodeConf(p[16:], 4)
	if err != nil {
		return m, nil, err
	}
	m.conf = conf
	if len(p) < 8 || binary.LittleEndian.Uint64(p) != uint64(len(p)-8) {
		return m, nil, fmt.Errorf("%w: snapshot: bad data length", ErrCorruptState)
	}
	return m, p[8:], nil
}

// readFile reads a whole small-ish file; ok is false when it does not exist.
func readFile(fsys vfs.FS, name string, limit int64) (b []byte, ok bool, err error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("replication: open %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, false, fmt.Errorf("replication: size of %s: %w", name, err)
	}
	if size > limit {
		return nil, false, fmt.Errorf("%w: %s has %d bytes", ErrCorruptState, name, size)
	}
	b = make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("replication: read %s: %w", name, err)
	}
	return b, true, nil
}

// loadSnapshot reads dir's snapshot file; ok is false when there is none.
func loadSnapshot(fsys vfs.FS, dir string) (snapMeta, snapPayload, bool, error) {
	b, ok, err := readFile(fsys, path.Join(dir, snapFile), maxFrame)
	if err != nil || !ok {
		return snapMeta{}, snapPayload{}, false, err
	}
	m, data, err := decodeSnapshot(b)
	if err != nil {
		return m, snapPayload{}, false, err
	}
	if string(b[:len(snapMagicV1)]) == snapMagicV1 {
		return m, snapPayload{keep: m.index + 1, state: data}, true, nil
	}
	p, err := decodePayload(data, m.index)
	return m, p, err == nil, err
}

// reconcileSnapshot runs at open: it finishes a snapshot that a crash
// interrupted after its file became durable (the state file not updated,
// or the log not reset yet), so that afterwards the log either holds the
// snapshot's index with the snapshot's term or starts right after it.
func (s *Storage) reconcileSnapshot(st *persistentState) error {
	m, p, ok, err := loadSnapshot(s.opts.FS, s.opts.Dir)
	if err != nil {
		return err
	}
	s.snapKeep = p.keep
	if !ok {
		if st.snapIndex != 0 {
			return fmt.Errorf("%w: state names snapshot %d but there is no snapshot file", ErrCorruptState, st.snapIndex)
		}
		return nil
	}
	if m.index < st.snapIndex {
		return fmt.Errorf("%w: snapshot file at %d is older than the state's %d", ErrCorruptState, m.index, st.snapIndex)
	}
	dirty := m.index > st.snapIndex
	if dirty {
		// Taken here (then the configuration is the state's) or received
		// from the leader (then the snapshot's is newer): either way the
		// snapshot's configuration holds as of its index.
		st.snapIndex, st.snapTerm, st.conf = m.index, m.term, m.conf.clone()
	}
	if st.commit < m.index {
		st.commit, dirty = m.index, true
	}
	if t, err := s.log.Term(m.index); err != nil || t != m.term || s.log.FirstIndex() > p.keep {
		if len(p.entries) == 0 {
			s.snapKeep = m.index + 1 // retained entries this log never had cannot be served
		}
		if err := s.resetTo(p, m.index); err != nil {
			return err
		}
	}
	if dirty {
		return saveState(s.opts.FS, s.opts.Dir, st)
	}
	return nil
}

// ApplySnapshot installs a snapshot received from the leader (a Ready's
// Snapshot): the snapshot file first (the commit point), then the state
// file, then the log is emptied to continue after the snapshot. A crash at
// any point leaves the old state or, through reconcileSnapshot at the next
// open, the new one. Called by the node loop only.
func (s *Storage) ApplySnapshot(snap *pb.Snapshot) error {
	md := snap.GetMetadata()
	m := snapMeta{index: md.GetIndex(), term: md.GetTerm(), conf: confFromPB(md.GetConfState())}
	s.mu.Lock()
	cur := s.st.snapIndex
	s.mu.Unlock()
	if m.index <= cur {
		return nil // raft never sends an older one; nothing to do
	}
	p, err := decodePayload(snap.GetData(), m.index)
	if err != nil {
		return err
	}
	if p.keep <= m.index && len(p.entries) == 0 {
		return fmt.Errorf("%w: snapshot %d retains entries from %d but carries none", ErrCorruptState, m.index, p.keep)
	}
	if err := writeAtomic(s.opts.FS, s.opts.Dir, snapFile, encodeSnapshot(&m, snap.GetData())); err != nil {
		return err
	}
	s.mu.Lock()
	s.st.snapIndex, s.st.snapTerm, s.st.conf = m.index, m.term, m.conf.clone()
	s.st.commit = max(s.st.commit, m.index)
	s.snapKeep = p.keep
	err = s.saveLocked()
	s.mu.Unlock()
	s.dropBuild()
	if err != nil {
		return err
	}
	return s.resetTo(p, m.index)
}

// resetTo empties the log to continue at the snapshot's retained entries
// (p.keep) and writes them, synced; without retained entries the log
// continues after the snapshot at index.
func (s *Storage) resetTo(p snapPayload, index uint64) error {
	if len(p.entries) == 0 {
		return s.log.Reset(index + 1)
	}
	if err := s.log.Reset(p.keep); err != nil {
		return err
	}
	if err := s.log.Append(p.entries); err != nil {
		return fmt.Errorf("replication: write the snapshot's retained entries: %w", err)
	}
	return s.log.Sync()
}

// CreateSnapshot records data as the state machine's state as of index
// (applied here, so committed), with the configuration cs in force there,
// retaining the log's entries from keep (index+1: none) on: they stay in
// the log and travel with the snapshot. It does not remove log entries
// (Compact does). Called by the node loop.
func (s *Storage) CreateSnapshot(index uint64, cs *pb.ConfState, data []byte, keep uint64) error {
	if keep == 0 || keep > index+1 {
		keep = index + 1
	}
	if first := s.log.FirstIndex(); keep < first {
		return fmt.Errorf("replication: snapshot at %d retains from %d, but the log starts at %d", index, keep, first)
	}
	if len(data) > maxSnapshotBytes {
		return fmt.Errorf("%w: %d bytes", ErrSnapshotTooLarge, len(data))
	}
	s.mu.Lock()
	cur, commit := s.st.snapIndex, s.st.commit
	s.mu.Unlock()
	if index <= cur {
		return nil
	}
	if index > commit {
		return fmt.Errorf("replication: snapshot at %d is past the commit index %d", index, commit)
	}
	term, err := s.log.Term(index)
	if err != nil {
		return fmt.Errorf("replication: snapshot at %d: %w", index, mapErr(err))
	}
	m := snapMeta{index: index, term: term, conf: confFromPB(cs)}
	p := snapPayload{keep: keep, state: data}
	if err := writeAtomic(s.opts.FS, s.opts.Dir, snapFile, encodeSnapshot(&m, p.encode())); err != nil {
		return err
	}
	s.dropBuild()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.snapIndex, s.st.snapTerm, s.snapKeep = index, term, keep
	return s.saveLocked()
}

// Compact removes the log's whole segments below upTo, which must not pass
// the snapshot (upTo ≤ snapshot index + 1) nor the entries it retains. It
// returns how many segments went.
func (s *Storage) Compact(upTo uint64) (int, error) {
	s.mu.Lock()
	snap, keep := s.st.snapIndex, s.snapKeep
	s.mu.Unlock()
	if upTo > snap+1 {
		return 0, fmt.Errorf("replication: compact to %d past the snapshot at %d", upTo, snap)
	}
	if keep != 0 && upTo > keep {
		return 0, fmt.Errorf("replication: compact to %d past the snapshot's retained entries from %d", upTo, keep)
	}
	return s.log.DeletePrefix(upTo)
}

// SnapshotRetains returns the first log index the latest snapshot retains
// (its index + 1 when it retains none; 0 before the first snapshot).
func (s *Storage) SnapshotRetains() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapKeep
}

// SnapshotIndex returns the index and term of the latest snapshot (0, 0
// before the first).
func (s *Storage) SnapshotIndex() (index, term uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.snapIndex, s.st.snapTerm
}

// Snapshot implements raft.Storage: the latest snapshot with its data read
// from the snapshot file; before any snapshot, an empty one at index 0 with
// the group's configuration. A snapshot that carries retained entries (up
// to the frame limit) is built off the raft loop (snapshot_send.go): the
// first call starts the build and answers ErrSnapshotTemporarilyUnavailable
// (raft tries again at the follower's next response), a later one hands
// the built snapshot out.
func (s *Storage) Snapshot() (*pb.Snapshot, error) {
	s.mu.Lock()
	index, keep := s.st.snapIndex, s.snapKeep
	conf := s.st.conf.toPB()
	s.mu.Unlock()
	if index == 0 {
		return &pb.Snapshot{Metadata: &pb.SnapshotMetadata{ConfState: conf, Index: new(uint64(0)), Term: new(uint64(0))}}, nil
	}
	if keep <= index {
		return s.builtSnapshot(index)
	}
	return s.loadPBSnapshot(index)
}

// loadPBSnapshot reads the snapshot file (and the retained entries the log
// holds for it) into a raft snapshot; ErrSnapshotTemporarilyUnavailable if
// the file is not the snapshot at index.
func (s *Storage) loadPBSnapshot(index uint64) (*pb.Snapshot, error) {
	m, p, ok, err := loadSnapshot(s.opts.FS, s.opts.Dir)
	if err != nil {
		return nil, err
	}
	if !ok || m.index != index {
		return nil, raft.ErrSnapshotTemporarilyUnavailable
	}
	if p.keep <= m.index && len(p.entries) == 0 {
		// Taken here: the retained entries are in the log.
		if p.entries, err = s.readEntries(p.keep, m.index+1); err != nil {
			return nil, fmt.Errorf("replication: snapshot %d: retained entries: %w", m.index, err)
		}
	}
	return &pb.Snapshot{Data: p.encode(), Metadata: &pb.SnapshotMetadata{ConfState: m.conf.toPB(), Index: new(m.index), Term: new(m.term)}}, nil
}

// snapshotState returns the latest snapshot's index and state machine
// bytes (for a restore at start), without its retained entries.
func (s *Storage) snapshotState() (uint64, []byte, error) {
	m, p, ok, err := loadSnapshot(s.opts.FS, s.opts.Dir)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, errors.New("replication: no snapshot file")
	}
	return m.index, p.state, nil
}

// readEntries reads the log's entries lo..hi-1, all of them.
func (s *Storage) readEntries(lo, hi uint64) ([]logstore.Entry, error) {
	out := make([]logstore.Entry, 0, hi-lo)
	for lo < hi {
		recs, err := s.log.Entries(lo, hi, 16<<20)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		lo += uint64(len(recs))
	}
	return out, nil
}
