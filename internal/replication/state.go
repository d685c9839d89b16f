package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"

	"github.com/dropin/nsq/internal/vfs"
)

// stateFile is the name, inside StorageOptions.Dir, of the file holding
// raft's HardState, ConfState and the snapshot position. Format (all
// integers little endian):
//
//	magic "NSQRAFT1" | term u64 | vote u64 | commit u64 | snapIndex u64 |
//	snapTerm u64 | nVoters u32 | voters u64... | nLearners u32 |
//	learners u64... | crc32c u32 (of everything before it)
//
// It is replaced atomically: written to stateFile+".tmp", synced, renamed
// over stateFile, and the directory synced.
const stateFile = "raftstate"

const stateMagic = "NSQRAFT1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptState reports a state file that fails its checksum or framing.
var ErrCorruptState = errors.New("replication: corrupt raft state file")

// persistentState is what stateFile holds.
type persistentState struct {
	term, vote, commit  uint64
	snapIndex, snapTerm uint64
	voters, learners    []uint64
}

func (s *persistentState) encode() []byte {
	b := []byte(stateMagic)
	for _, v := range []uint64{s.term, s.vote, s.commit, s.snapIndex, s.snapTerm} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	for _, ids := range [][]uint64{s.voters, s.learners} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
		for _, id := range ids {
			b = binary.LittleEndian.AppendUint64(b, id)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeState(b []byte) (persistentState, error) {
	var s persistentState
	const fixed = len(stateMagic) + 5*8 + 4
	if len(b) < fixed+4+4 || string(b[:len(stateMagic)]) != stateMagic {
		return s, fmt.Errorf("%w: bad header or size %d", ErrCorruptState, len(b))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return s, fmt.Errorf("%w: checksum mismatch", ErrCorruptState)
	}
	p := body[len(stateMagic):]
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(p); p = p[8:]; return v }
	s.term, s.vote, s.commit, s.snapIndex, s.snapTerm = u64(), u64(), u64(), u64(), u64()
	for _, dst := range []*[]uint64{&s.voters, &s.learners} {
		if len(p) < 4 {
			return s, fmt.Errorf("%w: short id list", ErrCorruptState)
		}
		n := binary.LittleEndian.Uint32(p)
		p = p[4:]
		if uint64(len(p)) < uint64(n)*8 {
			return s, fmt.Errorf("%w: id list of %d overruns the file", ErrCorruptState, n)
		}
		for i := uint32(0); i < n; i++ {
			*dst = append(*dst, u64())
		}
	}
	if len(p) != 0 {
		return s, fmt.Errorf("%w: %d trailing bytes", ErrCorruptState, len(p))
	}
	return s, nil
}

// loadState reads dir's state file; ok is false when there is none.
func loadState(fsys vfs.FS, dir string) (s persistentState, ok bool, err error) {
	f, err := fsys.Open(path.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("replication: open state: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return s, false, fmt.Errorf("replication: state size: %w", err)
	}
	if size > 1<<20 {
		return s, false, fmt.Errorf("%w: %d bytes", ErrCorruptState, size)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return s, false, fmt.Errorf("replication: read state: %w", err)
	}
	s, err = decodeState(b)
	return s, err == nil, err
}

// saveState replaces dir's state file durably (tmp, sync, rename, sync dir).
func saveState(fsys vfs.FS, dir string, s *persistentState) error {
	tmp, final := path.Join(dir, stateFile+".tmp"), path.Join(dir, stateFile)
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("replication: create %s: %w", tmp, err)
	}
	_, werr := f.Write(s.encode())
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("replication: write %s: %w", tmp, werr)
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return fmt.Errorf("replication: rename %s: %w", tmp, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("replication: sync directory %s: %w", dir, err)
	}
	return nil
}
