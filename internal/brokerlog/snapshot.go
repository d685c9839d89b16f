package brokerlog

import "sort"

// Snapshots of an engine whose log belongs to a raft group (OpenExternal):
// the group's state machine is the State, its snapshot the checkpoint body
// (SnapshotState), and the log entries the state still reads (message
// bodies of unfinished messages, from RetainFrom on) travel beside it in
// the raft snapshot (replication.LogRetainer). The log's owner removes
// segments and tells the engine (LogTrimmed). These methods are meant for
// the raft loop, which is then the only writer of the State, so they do
// not take cpMu (a Replay holding cpMu waits for that loop).

// SnapshotState returns the applied state encoded as a checkpoint body
// (docs/storage-format.md), a raft snapshot's data. Safe for concurrent
// use.
func (e *Engine) SnapshotState() []byte {
	s := e.state
	s.mu.RLock()
	defer s.mu.RUnlock()
	term, err := e.log.Term(s.applied)
	if err != nil {
		term = 0 // compacted: the snapshot's own metadata carries the term
	}
	return s.encodeLocked(term)
}

// RetainFrom returns the lowest log index the applied state still reads:
// the position of the oldest unfinished message of any channel (and, for a
// topic without channels, of what it holds), else the applied index + 1.
// Safe for concurrent use.
func (e *Engine) RetainFrom() uint64 {
	s := e.state
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.neededFromLocked()
}

// neededFromLocked is the lowest log index some topic needs (applied+1 if
// none). Caller holds s.mu.
func (s *State) neededFromLocked() uint64 {
	cut := s.applied + 1
	for _, t := range s.topics {
		if need, ok := t.neededIndexLocked(); ok {
			cut = min(cut, need)
		}
	}
	return cut
}

// RestoreState replaces the applied state with a snapshot's (SnapshotState
// on the group's leader). Live readers reposition on their next fill and
// waiting ones wake. It does not write a checkpoint: until the owner does,
// a restart restores the raft snapshot again.
func (e *Engine) RestoreState(data []byte) error {
	ns, _, err := decodeState(data)
	if err != nil {
		return err
	}
	s := e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, t := range ns.topics {
		if old := s.topics[name]; old != nil {
			t.version = old.version + 1
			for cn, c := range t.channels {
				if oc := old.channels[cn]; oc != nil {
					c.epoch = max(c.epoch, oc.epoch+1)
				}
			}
		}
	}
	for _, t := range s.topics {
		t.changedLocked()
	}
	s.applied, s.appliedTS, s.bad = ns.applied, ns.appliedTS, ns.bad
	s.timeMarks, s.topics = ns.timeMarks, ns.topics
	return nil
}

// LogTrimmed adjusts the state to a log that now starts at first: marks
// below it go, and each topic's oldest reachable message becomes its first
// mark's (a message below that mark is finished: an unfinished one keeps
// its mark, which is where RetainFrom points, from being removed).
// "earliest" then means that message. Safe for concurrent use.
func (e *Engine) LogTrimmed(first uint64) {
	s := e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.topics {
		i := sort.Search(len(t.marks), func(k int) bool { return t.marks[k].index >= first })
		if i == 0 {
			continue
		}
		t.marks = t.marks[i:]
		if len(t.marks) > 0 {
			t.firstSeq = max(t.firstSeq, t.marks[0].seq)
		} else {
			t.firstSeq = max(t.firstSeq, t.nextSeq)
		}
		t.holdFrom = max(t.holdFrom, t.firstSeq)
	}
	i := sort.Search(len(s.timeMarks), func(k int) bool { return s.timeMarks[k].index >= first })
	s.timeMarks = s.timeMarks[i:]
}
