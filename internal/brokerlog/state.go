package brokerlog

import (
	"sync"

	"github.com/dropin/nsq/internal/logstore"
)

// defaultMarkEvery is the spacing, in log entries, of the sparse indexes
// from topic sequence numbers and times to log positions.
const defaultMarkEvery = 64

// mark says: reading the log from entry index on, the first message of the
// topic met has sequence number seq; ts is the newest timestamp of that
// entry's batch.
type mark struct {
	index, seq uint64
	ts         int64
}

// cursor is a channel's durable position: everything below floor is
// finished, done holds finished ranges above it, requeued the messages put
// back with their due time, attempts the delivery counts of messages in
// flight. Guarded by State.mu.
type cursor struct {
	epoch    uint64 // bumped by every reset, so live readers reposition
	paused   bool
	floor    uint64
	done     rangeSet
	requeued map[uint64]Requeue
	attempts map[uint64]uint16
}

func newCursor(floor uint64) *cursor {
	return &cursor{floor: floor, requeued: map[uint64]Requeue{}, attempts: map[uint64]uint16{}}
}

// finish marks [lo, hi) finished (clipped to what exists: below next).
func (c *cursor) finish(lo, hi, next uint64) {
	lo, hi = max(lo, c.floor), min(hi, next)
	if lo >= hi {
		return
	}
	c.done.add(lo, hi)
	if hi-lo <= uint64(len(c.requeued)+len(c.attempts)) {
		for s := lo; s < hi; s++ {
			delete(c.requeued, s)
			delete(c.attempts, s)
		}
	} else {
		for s := range c.requeued {
			if s >= lo && s < hi {
				delete(c.requeued, s)
			}
		}
		for s := range c.attempts {
			if s >= lo && s < hi {
				delete(c.attempts, s)
			}
		}
	}
	if len(c.done) > 0 && c.done[0].Lo == c.floor {
		c.floor = c.done[0].Hi
		c.done = c.done[1:]
	}
}

// reset moves the cursor to floor with nothing finished or requeued.
func (c *cursor) reset(floor uint64) {
	c.epoch++
	c.floor = floor
	c.done = nil
	clear(c.requeued)
	clear(c.attempts)
}

func (c *cursor) unfinished(seq, next uint64) bool {
	return seq >= c.floor && seq < next && !c.done.contains(seq)
}

// topicState is one topic instance. Guarded by State.mu.
type topicState struct {
	name     string
	created  uint64 // log index of the entry that created this instance
	paused   bool
	nextSeq  uint64 // sequence number the next message gets; the first is 1
	holdFrom uint64 // where the first channel of a channel-less topic starts
	firstSeq uint64 // oldest sequence number the log still holds
	marks    []mark
	channels map[string]*cursor
	version  uint64        // bumped by every applied change readers care about
	notify   chan struct{} // closed on the next change; nil until a reader waits
}

// changedLocked wakes the topic's waiting readers. Caller holds State.mu.
func (t *topicState) changedLocked() {
	t.version++
	if t.notify != nil {
		close(t.notify)
		t.notify = nil
	}
}

// State is the broker's state machine: what the applied log says about
// topics and channels. Apply is deterministic (no clock, no randomness).
// Safe for concurrent use.
type State struct {
	mu        sync.RWMutex // guards everything below
	applied   uint64
	appliedTS int64 // newest message timestamp applied (for retention)
	topics    map[string]*topicState
	timeMarks []mark // global: index and newest timestamp, every markEvery entries
	bad       uint64 // entries skipped because their payload did not decode
	markEvery uint64 // set once before use
}

func newState() *State {
	return &State{topics: map[string]*topicState{}, markEvery: defaultMarkEvery}
}

// Apply applies committed entries; it is the Committer's Apply.
func (s *State) Apply(ents []logstore.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range ents {
		if ents[i].Index <= s.applied {
			continue // already in the checkpoint
		}
		if err := s.applyLocked(&ents[i]); err != nil {
			s.bad++
		}
		s.applied = ents[i].Index
	}
}

func (s *State) topicLocked(name string, index uint64) *topicState {
	t := s.topics[name]
	if t == nil {
		t = &topicState{name: name, created: index, nextSeq: 1, holdFrom: 1, firstSeq: 1, channels: map[string]*cursor{}}
		s.topics[name] = t
	}
	return t
}

func (s *State) applyLocked(e *logstore.Entry) error {
	switch e.Kind {
	case logstore.KindNoop:
		return nil
	case KindPublish:
		topic, n, newest, err := publishSummary(e.Data)
		if err != nil {
			return err
		}
		s.applyPublishLocked(e.Index, topic, n, newest)
	case KindTopicCreate, KindTopicDelete, KindTopicPause, KindTopicUnpause, KindTopicEmpty:
		name, err := DecodeTopicOp(e.Data)
		if err != nil {
			return err
		}
		s.applyTopicLocked(e.Kind, e.Index, name)
	case KindChannelCreate, KindChannelDelete, KindChannelPause, KindChannelUnpause, KindChannelEmpty, KindChannelRewind:
		op, err := DecodeChannelOp(e.Data)
		if err != nil {
			return err
		}
		s.applyChannelLocked(e.Kind, e.Index, &op)
	case KindChannelState:
		states, err := DecodeChannelStates(e.Data)
		if err != nil {
			return err
		}
		for i := range states {
			s.applyChannelStateLocked(&states[i])
		}
	default:
		return errUnknownKind
	}
	return nil
}

func (s *State) applyPublishLocked(index uint64, topic string, count int, newest int64) {
	if count == 0 {
		return
	}
	t := s.topicLocked(topic, index)
	if n := len(t.marks); n == 0 || index-t.marks[n-1].index >= s.markEvery {
		t.marks = append(t.marks, mark{index: index, seq: t.nextSeq, ts: newest})
	}
	if n := len(s.timeMarks); n == 0 || index-s.timeMarks[n-1].index >= s.markEvery {
		s.timeMarks = append(s.timeMarks, mark{index: index, ts: newest})
	}
	s.appliedTS = max(s.appliedTS, newest)
	t.nextSeq += uint64(count)
	t.changedLocked()
}

func (s *State) applyTopicLocked(kind logstore.Kind, index uint64, name string) {
	if kind == KindTopicCreate {
		s.topicLocked(name, index)
		return
	}
	t := s.topics[name]
	if t == nil {
		return
	}
	t.changedLocked()
	switch kind {
	case KindTopicDelete:
		delete(s.topics, name)
	case KindTopicPause:
		t.paused = true
	case KindTopicUnpause:
		t.paused = false
	case KindTopicEmpty:
		t.holdFrom = t.nextSeq
		for _, c := range t.channels {
			c.reset(t.nextSeq)
		}
	}
}

// resolveLocked turns a start position into a sequence number.
func (t *topicState) resolveLocked(st Start) uint64 {
	switch st.Mode {
	case StartEarliest:
		return t.firstSeq
	case StartSeq:
		return min(max(st.Seq, t.firstSeq), t.nextSeq)
	default:
		if len(t.channels) == 0 {
			return max(t.holdFrom, t.firstSeq)
		}
		return t.nextSeq
	}
}

func (s *State) applyChannelLocked(kind logstore.Kind, index uint64, op *ChannelOp) {
	if kind == KindChannelCreate {
		t := s.topicLocked(op.Topic, index)
		if t.channels[op.Channel] == nil {
			t.channels[op.Channel] = newCursor(t.resolveLocked(op.Start))
		}
		return
	}
	t := s.topics[op.Topic]
	if t == nil {
		return
	}
	t.changedLocked()
	c := t.channels[op.Channel]
	if c == nil {
		return
	}
	switch kind {
	case KindChannelDelete:
		delete(t.channels, op.Channel)
		if len(t.channels) == 0 {
			t.holdFrom = t.nextSeq
		}
	case KindChannelPause:
		c.paused = true
	case KindChannelUnpause:
		c.paused = false
	case KindChannelEmpty:
		c.reset(t.nextSeq)
	case KindChannelRewind:
		c.rewind(t.resolveLocked(op.Start))
	}
}

func (s *State) applyChannelStateLocked(cs *ChannelState) {
	t := s.topics[cs.Topic]
	if t == nil {
		return
	}
	c := t.channels[cs.Channel]
	if c == nil {
		return
	}
	for _, r := range cs.Finished {
		c.finish(r.Lo, r.Hi, t.nextSeq)
	}
	for _, r := range cs.Requeued {
		if c.unfinished(r.Seq, t.nextSeq) {
			c.requeued[r.Seq] = r
			delete(c.attempts, r.Seq)
		}
	}
	for _, a := range cs.Attempts {
		if !c.unfinished(a.Seq, t.nextSeq) {
			continue
		}
		if r, ok := c.requeued[a.Seq]; ok {
			r.Attempts = a.Attempts
			c.requeued[a.Seq] = r
			continue
		}
		c.attempts[a.Seq] = a.Attempts
	}
}
