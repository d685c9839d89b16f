package replication

import (
	"encoding/binary"
	"fmt"

	"github.com/dropin/nsq/internal/logstore"
)

// LogRetainer is an optional extension of StateMachine for state that
// still reads log entries at or below its snapshot index (nsqd's broker:
// the bodies of unfinished messages live in the log, not in the state).
// Such a snapshot carries the entries from RetainFrom to its index, so a
// follower that installs it gets them into its own log; compaction never
// removes them. Both methods run on the node's loop, like the others.
type LogRetainer interface {
	StateMachine
	// RetainFrom returns the lowest log index the state, as of the last
	// entry handed to Apply, still reads (that index + 1 when none).
	RetainFrom() uint64
	// LogTrimmed says the log now starts at first: compaction removed the
	// entries below it, or a snapshot install or restore left the log
	// starting there. The state must stop referring to entries below it.
	LogTrimmed(first uint64)
}

// snapPayload is what a snapshot carries besides its metadata: the state
// machine's bytes and the retained entries keep..index. It is
// pb.Snapshot.Data on the wire and the data section of the snapshot file.
// Format (little endian):
//
//	keep u64 | stateLen u64 | state | n u64 |
//	n × (term u64 | kind u8 | dataLen u32 | data)   entry i has index keep+i
//
// keep = index+1 means no entries are retained. The snapshot file of a
// snapshot taken here has n = 0 even when keep ≤ index (the log holds
// those entries; Storage.Snapshot reads them when sending); one installed
// from a leader holds all of them, so an interrupted install can be
// finished at open (reconcileSnapshot).
type snapPayload struct {
	keep    uint64
	state   []byte
	entries []logstore.Entry
}

func (p *snapPayload) encode() []byte {
	size := 24 + len(p.state)
	for i := range p.entries {
		size += 13 + len(p.entries[i].Data)
	}
	b := make([]byte, 0, size)
	b = binary.LittleEndian.AppendUint64(b, p.keep)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(p.state)))
	b = append(b, p.state...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(p.entries)))
	for i := range p.entries {
		e := &p.entries[i]
		b = binary.LittleEndian.AppendUint64(b, e.Term)
		b = append(b, byte(e.Kind))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

// decodePayload parses a payload of the snapshot at index; entries alias b.
func decodePayload(b []byte, index uint64) (snapPayload, error) {
	var p snapPayload
	bad := func(what string) error { return fmt.Errorf("%w: snapshot payload: %s", ErrCorruptState, what) }
	if len(b) < 16 {
		return p, bad("short")
	}
	p.keep = binary.LittleEndian.Uint64(b)
	if p.keep == 0 || p.keep > index+1 {
		return p, bad(fmt.Sprintf("retains from %d, snapshot at %d", p.keep, index))
	}
	n := binary.LittleEndian.Uint64(b[8:])
	b = b[16:]
	if uint64(len(b)) < n+8 {
		return p, bad("state length")
	}
	p.state, b = b[:n], b[n:]
	count := binary.LittleEndian.Uint64(b)
	b = b[8:]
	if count != 0 && count != index+1-p.keep {
		return p, bad(fmt.Sprintf("%d entries for %d..%d", count, p.keep, index))
	}
	p.entries = make([]logstore.Entry, 0, count)
	for i := uint64(0); i < count; i++ {
		if len(b) < 13 {
			return p, bad("entry header")
		}
		e := logstore.Entry{Index: p.keep + i, Term: binary.LittleEndian.Uint64(b), Kind: logstore.Kind(b[8])}
		dl := uint64(binary.LittleEndian.Uint32(b[9:]))
		b = b[13:]
		if uint64(len(b)) < dl {
			return p, bad("entry data")
		}
		e.Data, b = b[:dl], b[dl:]
		p.entries = append(p.entries, e)
	}
	if len(b) != 0 {
		return p, bad("trailing bytes")
	}
	return p, nil
}

// retainedBytes estimates, from the log's segments, how many bytes the
// entries keep..index take (an overestimate: whole segments count).
func retainedBytes(l *logstore.Log, keep, index uint64) int64 {
	var n int64
	for _, sg := range l.Segments() {
		if sg.Last >= keep && sg.First <= index {
			n += sg.Bytes
		}
	}
	return n
}
