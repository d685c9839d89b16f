package brokerlog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/dropin/nsq/internal/logstore"
)

// Replay errors: what the HTTP layer maps onto its codes.
var (
	// ErrNoTopic: the topic is not in the log.
	ErrNoTopic = errors.New("brokerlog: no such topic")
	// ErrNoChannel: a rewind names a channel the topic does not have.
	ErrNoChannel = errors.New("brokerlog: no such channel")
	// ErrChannelExists: a create at a position names an existing channel.
	ErrChannelExists = errors.New("brokerlog: channel exists")
	// ErrBadPosition: the position is not earliest, latest (create only)
	// or unix milliseconds.
	ErrBadPosition = errors.New("brokerlog: bad position")
)

// maxMs is the largest unix millisecond time whose nanoseconds fit int64.
const maxMs = math.MaxInt64 / int64(time.Millisecond)

// ReplayRequest asks to create a channel at a point of the retained log
// (Create) or to move an existing channel back (rewind).
type ReplayRequest struct {
	Topic, Channel string
	// Position is "earliest", a time as unix milliseconds, or (Create
	// only) "latest".
	Position string
	Create   bool
	// DryRun computes the answer and changes nothing.
	DryRun bool
}

// ReplayResult is what a replay did (or, dry, would do). Messages counts
// every publish proposed before Replay was called (a barrier waits for
// them to apply).
type ReplayResult struct {
	// At is the position resolved: the first message delivered again.
	At uint64
	// Seq is where the channel starts (its new floor; below At when a
	// rewound channel had older messages unfinished).
	Seq uint64
	// Messages is how many messages the channel will deliver from Seq on
	// (for a rewind: everything not finished below the point plus every
	// message from the point on), counted over the applied log.
	Messages uint64
}

// parsePosition checks a position's syntax without reading the log.
func parsePosition(spec string, create bool) (mode StartMode, atMs int64, err error) {
	switch spec {
	case "earliest":
		return StartEarliest, 0, nil
	case "latest":
		if create {
			return StartLatest, 0, nil
		}
	default:
		ms, perr := strconv.ParseInt(spec, 10, 64)
		if perr == nil && ms >= 0 && ms <= maxMs && strconv.FormatInt(ms, 10) == spec {
			return StartSeq, ms, nil
		}
	}
	want := "earliest or unix milliseconds"
	if create {
		want = "earliest, latest or unix milliseconds"
	}
	return 0, 0, fmt.Errorf("%w %q: want %s", ErrBadPosition, spec, want)
}

// Replay creates a channel at a point of the retained log or rewinds an
// existing one. A rewind never skips a message: the channel's new floor is
// the earlier of the point and its old floor, messages below the point keep
// their finished state, everything from the point on is delivered again
// (requeued ones at once, DPUB ones at their due time). The position is
// resolved here, against the applied log, into a sequence number recorded
// in the entry, so applying reads no clock.
//
// Replay holds the checkpoint lock from resolving to applied, so no
// compaction removes segments between the count and the change: the
// reply's Messages are readable. FIN/REQ records collected before the
// rewind are committed ahead of it (they would otherwise ride the same
// round after it and finish messages the rewind just reopened).
// Safe for concurrent use.
func (e *Engine) Replay(ctx context.Context, r ReplayRequest) (ReplayResult, error) {
	mode, atMs, err := parsePosition(r.Position, r.Create)
	if err != nil {
		return ReplayResult{}, err
	}
	// A barrier: everything proposed before (publishes answered OK but not
	// yet applied) is counted and replayed.
	if err := e.awaitApplied(ctx, e.committer.Propose(logstore.KindNoop, nil)); err != nil {
		return ReplayResult{}, err
	}
	e.cpMu.Lock()
	defer e.cpMu.Unlock()
	seq := uint64(0)
	if mode == StartSeq {
		if seq, err = e.SeqAtTime(r.Topic, atMs*int64(time.Millisecond)); errors.Is(err, ErrGone) {
			return ReplayResult{}, fmt.Errorf("%w: %s", ErrNoTopic, r.Topic)
		} else if err != nil {
			return ReplayResult{}, err
		}
	}
	res, err := e.planReplay(r, mode, seq)
	if err != nil || r.DryRun {
		return res, err
	}
	op := ChannelOp{Topic: r.Topic, Channel: r.Channel, Start: Start{Mode: StartSeq, Seq: res.At}}
	var p *logstore.Proposal
	if r.Create {
		p = e.committer.Propose(KindChannelCreate, op.Encode(nil))
	} else {
		p = e.RewindChannel(r.Topic, r.Channel, op.Start)
	}
	if err := e.awaitApplied(ctx, p); err != nil {
		return ReplayResult{}, err
	}
	if _, ok := e.state.Channel(r.Topic, r.Channel); !ok {
		// deleted (or its topic) right after the change applied
		return ReplayResult{}, fmt.Errorf("%w: %s/%s", ErrNoChannel, r.Topic, r.Channel)
	}
	return res, nil
}

// awaitApplied waits until p is durable and applied.
func (e *Engine) awaitApplied(ctx context.Context, p *logstore.Proposal) error {
	if err := p.Wait(); err != nil {
		return err
	}
	_, last := p.Indexes()
	return e.committer.WaitApplied(ctx, last)
}

// planReplay resolves the start and counts the messages over the applied
// state. seq is the time position's resolution (mode StartSeq).
func (e *Engine) planReplay(r ReplayRequest, mode StartMode, seq uint64) (ReplayResult, error) {
	s := e.state
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.topics[r.Topic]
	if t == nil {
		return ReplayResult{}, fmt.Errorf("%w: %s", ErrNoTopic, r.Topic)
	}
	switch mode {
	case StartEarliest:
		seq = t.firstSeq
	case StartLatest:
		seq = t.nextSeq
	}
	seq = min(max(seq, t.firstSeq), t.nextSeq)
	c := t.channels[r.Channel]
	if r.Create {
		if c != nil {
			return ReplayResult{}, fmt.Errorf("%w: %s/%s", ErrChannelExists, r.Topic, r.Channel)
		}
		return ReplayResult{At: seq, Seq: seq, Messages: t.nextSeq - seq}, nil
	}
	if c == nil {
		return ReplayResult{}, fmt.Errorf("%w: %s/%s", ErrNoChannel, r.Topic, r.Channel)
	}
	floor, done := rewound(c.floor, c.done, seq)
	return ReplayResult{At: seq, Seq: floor, Messages: t.nextSeq - floor - done.count()}, nil
}

// rewound is a cursor's floor and finished ranges after a rewind to seq:
// the floor goes back to seq unless it is already lower, and only what was
// finished below seq stays finished.
func rewound(floor uint64, done rangeSet, seq uint64) (uint64, rangeSet) {
	if seq <= floor {
		return seq, nil
	}
	i := sort.Search(len(done), func(k int) bool { return done[k].Hi > seq })
	kept := append(rangeSet(nil), done[:i]...)
	if i < len(done) && done[i].Lo < seq {
		kept = append(kept, Range{done[i].Lo, seq})
	}
	return floor, kept
}

// rewind applies a rewind to seq: see rewound. The requeued set and
// in-flight attempts are dropped (the broker drops its in-memory copies
// too), so every unfinished message is read from the log again.
func (c *cursor) rewind(seq uint64) {
	floor, done := rewound(c.floor, c.done, seq)
	c.reset(floor)
	c.done = done
}

// retainedTS caches the timestamp of a topic instance's oldest retained
// message (it changes only when compaction moves firstSeq).
type retainedTS struct {
	created, seq uint64
	ts           int64
}

// RetainedFrom returns the timestamp (unix ns) of the oldest message of
// topic the log still holds, and false when it holds none: what
// "earliest" reaches. Safe for concurrent use.
func (e *Engine) RetainedFrom(topic string) (int64, bool) {
	s := e.state
	s.mu.RLock()
	t := s.topics[topic]
	if t == nil || t.firstSeq >= t.nextSeq {
		s.mu.RUnlock()
		return 0, false
	}
	created, first := t.created, t.firstSeq
	s.mu.RUnlock()
	e.retMu.Lock()
	c, ok := e.retCache[topic]
	e.retMu.Unlock()
	if ok && c.created == created && c.seq == first {
		return c.ts, true
	}
	ds, err := e.ReadSeqs(topic, []uint64{first})
	if err != nil || len(ds) == 0 {
		return 0, false
	}
	e.retMu.Lock()
	if e.retCache == nil {
		e.retCache = map[string]retainedTS{}
	}
	e.retCache[topic] = retainedTS{created: created, seq: first, ts: ds[0].Timestamp}
	e.retMu.Unlock()
	return ds[0].Timestamp, true
}
