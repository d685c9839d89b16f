package brokerlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"

	"github.com/dropin/nsq/internal/vfs"
)

// checkpointMagic starts a checkpoint file; the format is in doc.go.
const checkpointMagic = "NSQCKPT1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeLocked serialises the state. Caller holds s.mu (read).
func (s *State) encodeLocked(term uint64) []byte {
	e := enc{b: make([]byte, 0, 4096)}
	e.uvarint(term)
	e.uvarint(s.applied)
	e.varint(s.appliedTS)
	e.uvarint(s.bad)
	encodeMarks(&e, s.timeMarks)
	names := slices.Sorted(maps.Keys(s.topics))
	e.uvarint(uint64(len(names)))
	for _, n := range names {
		t := s.topics[n]
		e.str(t.name)
		e.uvarint(t.created)
		e.byte1(boolByte(t.paused))
		e.uvarint(t.nextSeq)
		e.uvarint(t.holdFrom)
		e.uvarint(t.firstSeq)
		encodeMarks(&e, t.marks)
		cnames := slices.Sorted(maps.Keys(t.channels))
		e.uvarint(uint64(len(cnames)))
		for _, cn := range cnames {
			c := t.channels[cn]
			e.str(cn)
			e.byte1(boolByte(c.paused))
			e.uvarint(c.epoch)
			e.uvarint(c.floor)
			cs := ChannelState{Finished: c.done}
			for _, r := range c.requeued {
				cs.Requeued = append(cs.Requeued, r)
			}
			sort.Slice(cs.Requeued, func(i, j int) bool { return cs.Requeued[i].Seq < cs.Requeued[j].Seq })
			for seq, a := range c.attempts {
				cs.Attempts = append(cs.Attempts, Attempt{seq, a})
			}
			sort.Slice(cs.Attempts, func(i, j int) bool { return cs.Attempts[i].Seq < cs.Attempts[j].Seq })
			e.b = EncodeChannelStates(e.b, []ChannelState{cs})
		}
	}
	return e.b
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func encodeMarks(e *enc, ms []mark) {
	e.uvarint(uint64(len(ms)))
	var pi, ps uint64
	for _, m := range ms {
		e.uvarint(m.index - pi)
		e.uvarint(m.seq - ps)
		e.varint(m.ts)
		pi, ps = m.index, m.seq
	}
}

func decodeMarks(d *dec) []mark {
	n := d.count(3)
	ms := make([]mark, 0, n)
	var pi, ps uint64
	for i := 0; i < n && d.err == nil; i++ {
		m := mark{index: pi + d.uvarint(), seq: ps + d.uvarint(), ts: d.varint()}
		ms = append(ms, m)
		pi, ps = m.index, m.seq
	}
	return ms
}

// decodeState is the inverse of encodeLocked.
func decodeState(b []byte) (*State, uint64, error) {
	d := dec{b: b}
	s := newState()
	term := d.uvarint()
	s.applied, s.appliedTS, s.bad = d.uvarint(), d.varint(), d.uvarint()
	s.timeMarks = decodeMarks(&d)
	nt := d.count(6)
	for i := 0; i < nt && d.err == nil; i++ {
		t := &topicState{name: d.str(), created: d.uvarint(), paused: d.byte1() == 1,
			nextSeq: d.uvarint(), holdFrom: d.uvarint(), firstSeq: d.uvarint(), channels: map[string]*cursor{}}
		t.marks = decodeMarks(&d)
		nc := d.count(5)
		for k := 0; k < nc && d.err == nil; k++ {
			name := d.str()
			c := newCursor(0)
			c.paused = d.byte1() == 1
			c.epoch = d.uvarint()
			c.floor = d.uvarint()
			// one ChannelState, encoded as a list of one
			if n := d.uvarint(); d.err == nil && n != 1 {
				d.fail("channel state count")
			}
			_, _ = d.str(), d.str()
			nf := d.count(2)
			var prev uint64
			for j := 0; j < nf && d.err == nil; j++ {
				lo := prev + d.uvarint()
				hi := lo + d.uvarint()
				c.done = append(c.done, Range{lo, hi})
				prev = hi
			}
			nr := d.count(3)
			for j := 0; j < nr && d.err == nil; j++ {
				r := Requeue{Seq: d.uvarint(), Due: d.varint(), Attempts: uint16(min(d.uvarint(), 0xffff))}
				c.requeued[r.Seq] = r
			}
			na := d.count(2)
			for j := 0; j < na && d.err == nil; j++ {
				seq := d.uvarint()
				c.attempts[seq] = uint16(min(d.uvarint(), 0xffff))
			}
			t.channels[name] = c
		}
		s.topics[t.name] = t
	}
	if err := d.done(); err != nil {
		return nil, 0, err
	}
	return s, term, nil
}

// loadCheckpoint reads the checkpoint at name and returns the state and
// the term of its last applied entry; a missing one is an empty state. A
// damaged one is an error: the log before it may be gone.
func loadCheckpoint(fsys vfs.FS, name string) (*State, uint64, error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("brokerlog: open checkpoint: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, 0, fmt.Errorf("brokerlog: checkpoint: %w", err)
	}
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, 0, fmt.Errorf("brokerlog: read checkpoint: %w", err)
	}
	const hdr = len(checkpointMagic) + 4
	if len(buf) < hdr || string(buf[:len(checkpointMagic)]) != checkpointMagic {
		return nil, 0, fmt.Errorf("brokerlog: %s is not a checkpoint", name)
	}
	body := buf[hdr:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(buf[len(checkpointMagic):]) {
		return nil, 0, fmt.Errorf("brokerlog: checkpoint %s fails its checksum", name)
	}
	s, term, err := decodeState(body)
	if err != nil {
		return nil, 0, fmt.Errorf("brokerlog: checkpoint %s: %w", name, err)
	}
	return s, term, nil
}

// writeCheckpoint writes data durably as dir/checkpoint: a temporary file,
// fsynced, renamed over the old one, and the directory fsynced.
func writeCheckpoint(fsys vfs.FS, dir string, body []byte) error {
	tmp := path.Join(dir, checkpointName+".tmp")
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("brokerlog: checkpoint: %w", err)
	}
	hdr := append([]byte(checkpointMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(hdr[len(checkpointMagic):], crc32.Checksum(body, castagnoli))
	_, err = f.Write(append(hdr, body...))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path.Join(dir, checkpointName))
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("brokerlog: write checkpoint: %w", err)
	}
	return nil
}
