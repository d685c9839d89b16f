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

	"github.com/dropin/nsq/internal/vfs"
)

// snapFile is the name, inside StorageOptions.Dir, of the file holding the
// latest snapshot: the state machine's bytes as of an index, with that
// index, its term and the configuration there. Format (little endian):
//
//	magic "NSQSNAP1" | index u64 | term u64 | conf (as in the state file) |
//	dataLen u64 | data | crc32c u32 (of everything before it)
//
// It is replaced like the state file (tmp, sync, rename, sync dir). The
// snapshot file is the commit point of a snapshot: the state file's
// snapIndex follows it, and OpenStorage completes a snapshot whose state
// file update or log reset a crash interrupted (see reconcileSnapshot).
const snapFile = "snapshot"

const snapMagic = "NSQSNAP1"

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
	if len(b) < len(snapMagic)+16+4 || string(b[:len(snapMagic)]) != snapMagic {
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
func loadSnapshot(fsys vfs.FS, dir string) (snapMeta, []byte, bool, error) {
	b, ok, err := readFile(fsys, path.Join(dir, snapFile), maxFrame)
	if err != nil || !ok {
		return snapMeta{}, nil, false, err
	}
	m, data, err := decodeSnapshot(b)
	return m, data, err == nil, err
}

// reconcileSnapshot runs at open: it finishes a snapshot that a crash
// interrupted after its file became durable (the state file not updated,
// or the log not reset yet), so that afterwards the log either holds the
// snapshot's index with the snapshot's term or starts right after it.
func (s *Storage) reconcileSnapshot(st *persistentState) error {
	m, _, ok, err := loadSnapshot(s.opts.FS, s.opts.Dir)
	if err != nil {
		return err
	}
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
	if t, err := s.log.Term(m.index); err != nil || t != m.term {
		if err := s.log.Reset(m.index + 1); err != nil {
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
	if err := writeAtomic(s.opts.FS, s.opts.Dir, snapFile, encodeSnapshot(&m, snap.GetData())); err != nil {
		return err
	}
	s.mu.Lock()
	s.st.snapIndex, s.st.snapTerm, s.st.conf = m.index, m.term, m.conf.clone()
	s.st.commit = max(s.st.commit, m.index)
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.log.Reset(m.index + 1)
}

// CreateSnapshot records data as the state machine's state as of index
// (applied here, so committed), with the configuration cs in force there.
// It does not remove log entries (Compact does). Called by the node loop.
func (s *Storage) CreateSnapshot(index uint64, cs *pb.ConfState, data []byte) error {
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
	if err := writeAtomic(s.opts.FS, s.opts.Dir, snapFile, encodeSnapshot(&m, data)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.snapIndex, s.st.snapTerm = index, term
	return s.saveLocked()
}

// Compact removes the log's whole segments below upTo, which must not pass
// the snapshot (upTo ≤ snapshot index + 1). It returns how many segments
// went.
func (s *Storage) Compact(upTo uint64) (int, error) {
	s.mu.Lock()
	snap := s.st.snapIndex
	s.mu.Unlock()
	if upTo > snap+1 {
		return 0, fmt.Errorf("replication: compact to %d past the snapshot at %d", upTo, snap)
	}
	return s.log.DeletePrefix(upTo)
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
// the group's configuration.
func (s *Storage) Snapshot() (*pb.Snapshot, error) {
	s.mu.Lock()
	index := s.st.snapIndex
	conf := s.st.conf.toPB()
	s.mu.Unlock()
	if index == 0 {
		return &pb.Snapshot{Metadata: &pb.SnapshotMetadata{ConfState: conf, Index: new(uint64(0)), Term: new(uint64(0))}}, nil
	}
	m, data, ok, err := loadSnapshot(s.opts.FS, s.opts.Dir)
	if err != nil {
		return nil, err
	}
	if !ok || m.index < index {
		return nil, raft.ErrSnapshotTemporarilyUnavailable
	}
	return &pb.Snapshot{Data: data, Metadata: &pb.SnapshotMetadata{ConfState: m.conf.toPB(), Index: new(m.index), Term: new(m.term)}}, nil
}
