package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path"
	"slices"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/vfs"
)

// stateFile is the name, inside StorageOptions.Dir, of the file holding
// raft's HardState, ConfState and the snapshot position. Format (all
// integers little endian):
//
//	magic "NSQRAFT2" | term u64 | vote u64 | commit u64 | snapIndex u64 |
//	snapTerm u64 | conf | crc32c u32 (of everything before it)
//
// conf is four id lists (voters, learners, votersOutgoing, learnersNext),
// each n u32 | ids u64..., then autoLeave u8: raft's whole ConfState, joint
// configurations included. Version 1 ("NSQRAFT1") had only the voters and
// learners lists and no autoLeave byte; it is still read.
//
// It is replaced atomically: written to stateFile+".tmp", synced, renamed
// over stateFile, and the directory synced.
const stateFile = "raftstate"

const (
	stateMagic   = "NSQRAFT2"
	stateMagicV1 = "NSQRAFT1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptState reports a state file that fails its checksum or framing.
var ErrCorruptState = errors.New("replication: corrupt raft state file")

// persistentState is what stateFile holds.
type persistentState struct {
	term, vote, commit  uint64
	snapIndex, snapTerm uint64
	conf                confState
}

// confState is raft's ConfState as plain slices.
type confState struct {
	voters, learners, votersOutgoing, learnersNext []uint64
	autoLeave                                      bool
}

func confFromPB(cs *pb.ConfState) confState {
	return confState{voters: slices.Clone(cs.GetVoters()), learners: slices.Clone(cs.GetLearners()),
		votersOutgoing: slices.Clone(cs.GetVotersOutgoing()), learnersNext: slices.Clone(cs.GetLearnersNext()),
		autoLeave: cs.GetAutoLeave()}
}

func (c *confState) toPB() *pb.ConfState {
	cs := &pb.ConfState{Voters: slices.Clone(c.voters), Learners: slices.Clone(c.learners),
		VotersOutgoing: slices.Clone(c.votersOutgoing), LearnersNext: slices.Clone(c.learnersNext)}
	if c.autoLeave {
		cs.AutoLeave = new(true)
	}
	return cs
}

func (c *confState) clone() confState {
	return confState{voters: slices.Clone(c.voters), learners: slices.Clone(c.learners),
		votersOutgoing: slices.Clone(c.votersOutgoing), learnersNext: slices.Clone(c.learnersNext), autoLeave: c.autoLeave}
}

func (c *confState) encode(b []byte) []byte {
	for _, ids := range [][]uint64{c.voters, c.learners, c.votersOutgoing, c.learnersNext} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
		for _, id := range ids {
			b = binary.LittleEndian.AppendUint64(b, id)
		}
	}
	if c.autoLeave {
		return append(b, 1)
	}
	return append(b, 0)
}

// decodeConf reads lists id lists (2 for version 1, 4 and the autoLeave
// byte otherwise) from p and returns the rest.
func decodeConf(p []byte, lists int) (confState, []byte, error) {
	var c confState
	for _, dst := range []*[]uint64{&c.voters, &c.learners, &c.votersOutgoing, &c.learnersNext}[:lists] {
		if len(p) < 4 {
			return c, nil, fmt.Errorf("%w: short id list", ErrCorruptState)
		}
		n := binary.LittleEndian.Uint32(p)
		p = p[4:]
		if uint64(len(p)) < uint64(n)*8 {
			return c, nil, fmt.Errorf("%w: id list of %d overruns the file", ErrCorruptState, n)
		}
		for i := uint32(0); i < n; i++ {
			*dst = append(*dst, binary.LittleEndian.Uint64(p))
			p = p[8:]
		}
	}
	if lists == 4 {
		if len(p) < 1 || p[0] > 1 {
			return c, nil, fmt.Errorf("%w: bad autoLeave", ErrCorruptState)
		}
		c.autoLeave, p = p[0] == 1, p[1:]
	}
	return c, p, nil
}

func (s *persistentState) encode() []byte {
	b := []byte(stateMagic)
	for _, v := range []uint64{s.term, s.vote, s.commit, s.snapIndex, s.snapTerm} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	b = s.conf.encode(b)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeState(b []byte) (persistentState, error) {
	var s persistentState
	const fixed = len(stateMagic) + 5*8 + 4
	if len(b) < fixed+4+4 {
		return s, fmt.Errorf("%w: bad size %d", ErrCorruptState, len(b))
	}
	lists := 4
	switch string(b[:len(stateMagic)]) {
	case stateMagic:
	case stateMagicV1:
		lists = 2
	default:
		return s, fmt.Errorf("%w: bad header", ErrCorruptState)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return s, fmt.Errorf("%w: checksum mismatch", ErrCorruptState)
	}
	p := body[len(stateMagic):]
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(p); p = p[8:]; return v }
	s.term, s.vote, s.commit, s.snapIndex, s.snapTerm = u64(), u64(), u64(), u64(), u64()
	conf, rest, err := decodeConf(p, lists)
	if err != nil {
		return s, err
	}
	if len(rest) != 0 {
		return s, fmt.Errorf("%w: %d trailing bytes", ErrCorruptState, len(rest))
	}
	s.conf = conf
	return s, nil
}

// loadState reads dir's state file; ok is false when there is none.
func loadState(fsys vfs.FS, dir string) (s persistentState, ok bool, err error) {
	b, ok, err := readFile(fsys, path.Join(dir, stateFile), 1<<20)
	if err != nil || !ok {
		return s, false, err
	}
	s, err = decodeState(b)
	return s, err == nil, err
}

// saveState replaces dir's state file durably.
func saveState(fsys vfs.FS, dir string, s *persistentState) error {
	return writeAtomic(fsys, dir, stateFile, s.encode())
}

// writeAtomic replaces dir/name durably: tmp file, sync, rename, sync dir.
func writeAtomic(fsys vfs.FS, dir, name string, data []byte) error {
	tmp, final := path.Join(dir, name+".tmp"), path.Join(dir, name)
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("replication: create %s: %w", tmp, err)
	}
	_, werr := f.Write(data)
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
