package brokerlog

import (
	"errors"
	"fmt"

	"github.com/dropin/nsq/internal/logstore"
)

// ErrGone: the reader's topic or channel was deleted (or recreated).
var ErrGone = errors.New("brokerlog: topic or channel no longer exists")

// scanChunk is how many bytes of log a scan asks for at a time: about
// five publish entries of MPUB 200 × 200 B (a channel's 1024-message
// window in one read), small enough that a reader wanting a few messages
// does not decode megabytes.
const scanChunk = 256 << 10

// scanPos is a place in a topic's messages: reading the log from entry at
// on, the first message of the topic met has sequence number seq.
type scanPos struct{ at, seq uint64 }

// scanTopic reads the log from pos up to entry hi-1 and calls fn for every
// message of the topic instance, in order, with its sequence number. When fn
// returns false the scan stops and the returned position is that of the
// entry holding the message fn refused (so a later scan sees it again).
// carry, if not nil, keeps the entries read but not yet consumed between
// calls, so a reader taking a few messages at a time reads the log once.
func (e *Engine) scanTopic(topic string, pos scanPos, hi uint64, carry *[]logstore.Entry, fn func(seq uint64, m *Message) bool) (scanPos, error) {
	var ents []logstore.Entry
	if carry != nil {
		ents, *carry = *carry, nil
	}
	for pos.at < hi {
		if len(ents) == 0 || ents[0].Index != pos.at {
			var err error
			if ents, err = e.log.Entries(pos.at, hi, scanChunk); err != nil {
				return pos, err
			}
		}
		for i := range ents {
			en := &ents[i]
			if en.Index >= hi {
				break
			}
			if en.Kind != KindPublish {
				pos.at = en.Index + 1
				continue
			}
			if name, err := publishTopic(en.Data); err != nil || name != topic {
				pos.at = en.Index + 1
				continue
			}
			p, err := DecodePublish(en.Data)
			if err != nil {
				pos.at = en.Index + 1
				continue // apply skipped it too, so it has no sequence numbers
			}
			for k := range p.Messages {
				if !fn(pos.seq+uint64(k), &p.Messages[k]) {
					if carry != nil {
						*carry = ents[i:]
					}
					return pos, nil
				}
			}
			pos.at, pos.seq = en.Index+1, pos.seq+uint64(len(p.Messages))
		}
		ents = nil
	}
	return pos, nil
}

// Delivery is a message as a channel reader hands it out.
type Delivery struct {
	Seq uint64
	Message
}

// ReaderOptions bound a reader's read-ahead window.
type ReaderOptions struct {
	WindowMessages int // default 1024
	WindowBytes    int // default 4 MiB of bodies
}

// Reader is a channel's read-ahead window over its topic's messages: it
// hands out, in sequence order, the messages from the channel's floor on
// that the applied state does not list as finished or requeued (requeued
// ones come from ChannelInfo.Requeued with their due times). Only applied
// entries are read. Not safe for concurrent use: one reader per channel
// pump.
type Reader struct {
	eng            *Engine
	topic, channel string
	created        uint64 // the topic instance
	epoch          uint64 // the cursor's reset count seen
	opts           ReaderOptions
	next           uint64 // next sequence number to hand out
	pos            scanPos
	positioned     bool
	seen           uint64           // the topic's version at the last fill
	caughtUp       bool             // the last fill reached the topic's end
	carry          []logstore.Entry // read from the log, not yet consumed
	window         []Delivery
	head           int
}

// NewReader opens a reader at the channel's floor.
func (e *Engine) NewReader(topic, channel string, o ReaderOptions) (*Reader, error) {
	if o.WindowMessages <= 0 {
		o.WindowMessages = 1024
	}
	if o.WindowBytes <= 0 {
		o.WindowBytes = 4 << 20
	}
	r := &Reader{eng: e, topic: topic, channel: channel, opts: o}
	s := e.state
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.topics[topic]
	if t == nil || t.channels[channel] == nil {
		return nil, fmt.Errorf("%w: %s/%s", ErrGone, topic, channel)
	}
	c := t.channels[channel]
	r.created, r.epoch, r.next = t.created, c.epoch, c.floor
	return r, nil
}

// Position returns the next sequence number the reader will consider.
func (r *Reader) Position() uint64 { return r.next }

// Buffered returns how many messages the window holds.
func (r *Reader) Buffered() int { return len(r.window) - r.head }

// Next returns up to max messages (fewer when caught up with the applied
// log; none when there is nothing new). The returned slice is valid until
// the next call.
func (r *Reader) Next(max int) ([]Delivery, error) {
	// A fill can come back empty while messages remain (all it read were
	// finished or requeued); keep going until something is found or the
	// reader is caught up.
	for r.head == len(r.window) {
		before := r.next
		if err := r.fill(); err != nil {
			return nil, err
		}
		if r.next == before {
			break
		}
	}
	n := min(max, len(r.window)-r.head)
	out := r.window[r.head : r.head+n]
	r.head += n
	return out, nil
}

// Wait returns a channel that is closed when the reader's topic changed
// (a publish, a channel or topic change) since the reader last looked, so a
// channel pump sleeps until its own topic has news, not on every entry of
// every topic. Select on it together with the pump's own exit channel.
func (r *Reader) Wait() <-chan struct{} {
	if r.Buffered() > 0 || !r.caughtUp {
		return closedCh
	}
	s := r.eng.state
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[r.topic]
	if t == nil || t.created != r.created || t.version != r.seen {
		return closedCh
	}
	if t.notify == nil {
		t.notify = make(chan struct{})
	}
	return t.notify
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// checkLocked validates the topic and channel and repositions after a
// reset (empty, rewind). Caller holds State.mu for reading.
func (r *Reader) checkLocked() (*topicState, *cursor, error) {
	t := r.eng.state.topics[r.topic]
	if t == nil || t.created != r.created || t.channels[r.channel] == nil {
		return nil, nil, fmt.Errorf("%w: %s/%s", ErrGone, r.topic, r.channel)
	}
	c := t.channels[r.channel]
	if c.epoch != r.epoch {
		r.epoch, r.next, r.positioned = c.epoch, c.floor, false
		r.window, r.head, r.carry = r.window[:0], 0, nil
	}
	return t, c, nil
}

func (r *Reader) fill() error {
	s := r.eng.state
	s.mu.RLock()
	t, _, err := r.checkLocked()
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	if !r.positioned || r.next < t.firstSeq {
		r.next = max(r.next, t.firstSeq)
		m, ok := t.markForLocked(r.next)
		if !ok {
			r.seen, r.caughtUp = t.version, true
			s.mu.RUnlock()
			return nil // nothing published at or after next yet
		}
		r.pos, r.positioned = scanPos{m.index, m.seq}, true
	}
	hi, end := s.applied+1, t.nextSeq
	r.seen = t.version
	s.mu.RUnlock()
	r.caughtUp = false
	if r.next >= end {
		r.caughtUp = true
		if r.positioned && r.pos.seq == end {
			r.pos.at = max(r.pos.at, hi) // nothing new: skip what other topics wrote
		}
		return nil
	}

	r.window, r.head = r.window[:0], 0
	bytes := 0
	pos, err := r.eng.scanTopic(r.topic, r.pos, hi, &r.carry, func(seq uint64, m *Message) bool {
		if seq < r.next {
			return true
		}
		if len(r.window) >= r.opts.WindowMessages || (len(r.window) > 0 && bytes+len(m.Body) > r.opts.WindowBytes) {
			return false
		}
		r.window = append(r.window, Delivery{Seq: seq, Message: *m})
		bytes += len(m.Body)
		r.next = seq + 1
		return true
	})
	r.pos = pos
	if err != nil {
		return err
	}
	r.caughtUp = r.next >= end
	return r.filter()
}

// filter drops from the window what the applied cursor lists as finished
// or requeued (possible only just after a restart or rewind) and sets the
// attempts recorded for in-flight messages.
func (r *Reader) filter() error {
	s := r.eng.state
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, c, err := r.checkLocked()
	if err != nil {
		return err
	}
	if len(r.window) == 0 {
		return nil
	}
	keep := r.window[:0]
	for _, d := range r.window {
		if !c.unfinished(d.Seq, t.nextSeq) {
			continue
		}
		if _, ok := c.requeued[d.Seq]; ok {
			continue
		}
		if a, ok := c.attempts[d.Seq]; ok && a > d.Attempts {
			d.Attempts = a
		}
		keep = append(keep, d)
	}
	r.window = keep
	return nil
}

// SeqAtTime returns the sequence number of the first message of topic whose
// timestamp is at or after unixNano (NextSeq if none): the proposer-side
// resolution of a time position for CreateChannel/RewindChannel.
func (e *Engine) SeqAtTime(topic string, unixNano int64) (uint64, error) {
	s := e.state
	s.mu.RLock()
	t := s.topics[topic]
	if t == nil {
		s.mu.RUnlock()
		return 0, fmt.Errorf("%w: topic %s", ErrGone, topic)
	}
	m, ok := t.markForTimeLocked(unixNano)
	hi, end, first := s.applied+1, t.nextSeq, t.firstSeq
	s.mu.RUnlock()
	if !ok {
		return end, nil
	}
	found := end
	_, err := e.scanTopic(topic, scanPos{m.index, m.seq}, hi, nil, func(seq uint64, msg *Message) bool {
		if msg.Timestamp >= unixNano && seq >= first {
			found = seq
			return false
		}
		return true
	})
	return found, err
}

// seqAtIndexLocked returns the sequence number the topic's first message at
// or after log entry index has. Caller holds State.mu; it reads the log.
func (e *Engine) seqAtIndexLocked(t *topicState, index uint64) (uint64, error) {
	i := 0
	for i < len(t.marks) && t.marks[i].index < index {
		i++
	}
	if i == 0 {
		if len(t.marks) > 0 {
			return t.marks[0].seq, nil
		}
		return t.nextSeq, nil
	}
	pos := scanPos{t.marks[i-1].index, t.marks[i-1].seq}
	pos, err := e.scanTopic(t.name, pos, index, nil, func(uint64, *Message) bool { return true })
	return pos.seq, err
}
