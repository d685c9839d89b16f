package brokerlog

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Checkpoint writes the applied state durably (tmp, fsync, rename, fsync
// dir). Recovery loads it and replays only the log after it. It is also the
// shape of a raft snapshot: its data with the applied index and term.
func (e *Engine) Checkpoint() (index uint64, err error) {
	e.cpMu.Lock()
	defer e.cpMu.Unlock()
	return e.checkpointLocked()
}

func (e *Engine) checkpointLocked() (uint64, error) {
	s := e.state
	s.mu.RLock()
	index := s.applied
	term, err := e.log.Term(index)
	if err != nil {
		term = e.cpTerm // the entry is compacted: it is the last checkpoint's
	}
	body := s.encodeLocked(term)
	s.mu.RUnlock()
	if err := writeCheckpoint(e.opts.FS, e.opts.Dir, body); err != nil {
		return 0, err
	}
	e.cpIndex, e.cpTerm = index, term
	return index, nil
}

// LastCheckpoint returns the applied index and its term that the newest
// checkpoint holds (0, 0 if none): a raft snapshot's metadata.
func (e *Engine) LastCheckpoint() (index, term uint64) {
	e.cpMu.Lock()
	defer e.cpMu.Unlock()
	return e.cpIndex, e.cpTerm
}

// CompactResult says what a Compact did.
type CompactResult struct {
	Checkpoint uint64 // applied index the checkpoint holds
	Removed    int    // segments removed
	FirstIndex uint64 // the log's first index afterwards
}

// Compact writes a checkpoint and removes the log segments that every
// channel has finished (and, with no channel, the topic no longer holds),
// keeping finished segments the retention options ask for. now is the
// proposer's clock, used only for retention.
func (e *Engine) Compact(now time.Time) (CompactResult, error) {
	if e.external {
		return CompactResult{}, errors.New("brokerlog: the log belongs to a raft group; its owner compacts it")
	}
	e.cpMu.Lock()
	defer e.cpMu.Unlock()
	s := e.state
	s.mu.RLock()
	upTo := e.retainLocked(s.neededFromLocked(), now.UnixNano())
	// Where each topic's messages start at upTo, read while those entries
	// still exist.
	type adj struct {
		t   *topicState
		seq uint64
	}
	var adjs []adj
	for _, t := range s.topics {
		if len(t.marks) == 0 || t.marks[0].index >= upTo {
			continue
		}
		seq, err := e.seqAtIndexLocked(t, upTo)
		if err != nil {
			s.mu.RUnlock()
			return CompactResult{}, fmt.Errorf("brokerlog: compact: %w", err)
		}
		adjs = append(adjs, adj{t, seq})
	}
	s.mu.RUnlock()

	// Marks below upTo are touched only here (under cpMu); apply only adds
	// marks at higher indexes.
	s.mu.Lock()
	for _, a := range adjs {
		t := a.t
		i := sort.Search(len(t.marks), func(k int) bool { return t.marks[k].index >= upTo })
		last := t.marks[i-1]
		t.marks = t.marks[i:]
		if a.seq < t.nextSeq && (len(t.marks) == 0 || t.marks[0].seq != a.seq) {
			t.marks = append([]mark{{index: upTo, seq: a.seq, ts: last.ts}}, t.marks...)
		}
		t.firstSeq = max(t.firstSeq, a.seq)
		t.holdFrom = max(t.holdFrom, t.firstSeq)
	}
	i := sort.Search(len(s.timeMarks), func(k int) bool { return s.timeMarks[k].index >= upTo })
	s.timeMarks = s.timeMarks[i:]
	s.mu.Unlock()

	cp, err := e.checkpointLocked()
	if err != nil {
		return CompactResult{}, err
	}
	res := CompactResult{Checkpoint: cp}
	if upTo > e.log.FirstIndex() {
		res.Removed, err = e.log.DeletePrefix(upTo)
	}
	res.FirstIndex = e.log.FirstIndex()
	return res, err
}

// retainLocked returns the first index to keep: the first entry of the
// oldest segment that must stay, given that entries from cut on are needed.
// Caller holds State.mu (read).
func (e *Engine) retainLocked(cut uint64, now int64) uint64 {
	segs := e.log.Segments()
	var total int64
	for _, sg := range segs {
		total += sg.Bytes
	}
	upTo := segs[0].First
	for _, sg := range segs[:len(segs)-1] { // never the active segment
		if sg.Last >= cut {
			break
		}
		if !e.mayDropLocked(sg.Last, total, now) {
			break
		}
		total -= sg.Bytes
		upTo = sg.Last + 1
	}
	return upTo
}

// mayDropLocked reports whether retention lets a finished segment ending
// at entry last go, with the log total bytes big. A segment is kept while
// either limit holds: it is younger than RetainFor, or the log is within
// RetainBytes; with neither set nothing finished is kept.
func (e *Engine) mayDropLocked(last uint64, total, now int64) bool {
	o := e.opts
	if o.RetainFor <= 0 && o.RetainBytes <= 0 {
		return true
	}
	if o.RetainBytes > 0 && total <= o.RetainBytes {
		return false
	}
	if o.RetainFor > 0 {
		// The newest timestamp in the segment is at most that of the first
		// time mark after it; without one, the segment is too recent to tell.
		s := e.state
		i := sort.Search(len(s.timeMarks), func(k int) bool { return s.timeMarks[k].index > last })
		return i < len(s.timeMarks) && s.timeMarks[i].ts < now-int64(o.RetainFor)
	}
	return true
}
