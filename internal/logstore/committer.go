package logstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrSealed is returned for proposals made after the committer was sealed
// by a failed sync (or closed). Check with errors.Is; the wrapped cause says
// what failed.
var ErrSealed = errors.New("logstore: committer sealed")

// ErrTooLarge is returned for a proposal with a record over MaxEntryBytes.
var ErrTooLarge = errors.New("logstore: record too large")

// Record is what a proposer hands in: the committer gives it an index and
// a term. Data must not be modified after Propose.
type Record struct {
	Kind Kind
	Data []byte
}

// Proposal is the handle of one Propose call. Done is closed once every
// record of the call is durable (Err nil), or once it is known they never
// will be acknowledged (Err non-nil). Safe for concurrent use.
type Proposal struct {
	done        chan struct{}
	err         error
	first, last uint64
	recs        []Record
	one         [1]Record // backing store for single-record proposals
	bytes       int
}

// Done is closed when the proposal's outcome is known.
func (p *Proposal) Done() <-chan struct{} { return p.done }

// Err returns the outcome; only meaningful after Done is closed.
func (p *Proposal) Err() error { return p.err }

// Wait blocks until Done and returns Err.
func (p *Proposal) Wait() error { <-p.done; return p.err }

// Indexes returns the first and last index given to the proposal's records;
// only meaningful after Done is closed with a nil Err.
func (p *Proposal) Indexes() (first, last uint64) { return p.first, p.last }

// CommitterOptions configure a Committer.
type CommitterOptions struct {
	Log *Log // required; the committer becomes its only writer
	// Apply receives committed entries in index order, from one goroutine,
	// never concurrently with itself. It must be deterministic: read no
	// clock and no randomness, only the entries and the state they build.
	Apply func(ents []Entry)
	// Applied is the index the state machine already includes (from a
	// checkpoint); entries after it are replayed through Apply on start.
	Applied uint64
	// MaxBatchBytes bounds one round's write (default 4 MiB; a single
	// larger proposal still goes alone).
	MaxBatchBytes int
	// MaxQueuedBytes bounds the record bytes proposed but not yet applied
	// (or failed): a Propose that would exceed it blocks until rounds
	// drain, so publishers that do not wait for their proposals cannot
	// queue more in memory than the disk takes (default 2×MaxBatchBytes:
	// one round syncing, one forming). A proposal larger than the bound
	// waits for an empty queue and then goes alone.
	MaxQueuedBytes int
	// Gather, if set, is called at the start of every round; the records it
	// returns ride that round's write and sync without a Proposal (channel
	// state: a lost one costs a duplicate delivery, never a message).
	Gather func() []Record
	// OnHealth is called from the committer goroutine when health changes:
	// with the error that made a round fail, and with nil when a later round
	// succeeds again. It runs before the round's proposals are answered, so
	// a caller that sees a failed proposal already finds health reported.
	// Optional.
	OnHealth func(err error)
	// Term is stamped on every entry (default 1).
	Term uint64
}

// Status is a snapshot of the committer's indexes:
// Applied ≤ Committed ≤ Synced ≤ Written. With a single node Committed
// equals Synced; under raft Committed is what a quorum holds.
type Status struct {
	Written, Synced, Committed, Applied uint64
	Err                                 error // why the last round failed, nil if healthy
	Sealed                              bool  // no further proposal can succeed
}

// Committer runs group commit over a Log: one goroutine takes every pending
// proposal (of all callers), writes them with one write and one sync, then
// acknowledges them all; proposals made meanwhile form the next batch. A
// second goroutine applies committed entries. Safe for concurrent use.
type Committer struct {
	opts CommitterOptions

	mu        sync.Mutex // guards pending, queued, closed, sealed, lastErr, indexes below
	wake      *sync.Cond // signalled (with mu) when pending grows or on close
	room      *sync.Cond // broadcast (with mu) when queued shrinks, on seal and on close
	pending   []*Proposal
	queued    int // record bytes of proposals enqueued and not yet applied or failed
	closed    bool
	sealed    error
	lastErr   error
	written   uint64
	synced    uint64
	committed uint64

	amu        sync.Mutex // guards applied, appliedCh, applyQ
	applied    uint64
	appliedCh  chan struct{} // closed and replaced whenever applied grows
	applyQ     []applyRound
	applyWake  *sync.Cond
	applyClose bool

	wg sync.WaitGroup
}

// StartCommitter replays the log after opts.Applied through Apply, then
// starts the committer and applier goroutines.
func StartCommitter(opts CommitterOptions) (*Committer, error) {
	if opts.Log == nil {
		return nil, errors.New("logstore: CommitterOptions.Log is required")
	}
	if opts.Apply == nil {
		opts.Apply = func([]Entry) {}
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = 4 << 20
	}
	if opts.MaxQueuedBytes <= 0 {
		opts.MaxQueuedBytes = 2 * opts.MaxBatchBytes
	}
	if opts.Term == 0 {
		opts.Term = 1
	}
	if t := opts.Log.LastTerm(); t > opts.Term {
		return nil, fmt.Errorf("logstore: log holds term %d, above committer term %d", t, opts.Term)
	}
	c := &Committer{opts: opts, appliedCh: make(chan struct{})}
	c.wake = sync.NewCond(&c.mu)
	c.room = sync.NewCond(&c.mu)
	c.applyWake = sync.NewCond(&c.amu)
	if err := c.replay(); err != nil {
		return nil, err
	}
	c.wg.Add(2)
	go c.commitLoop()
	go c.applyLoop()
	return c, nil
}

func (c *Committer) replay() error {
	l := c.opts.Log
	first, last := l.FirstIndex(), l.LastIndex()
	from := c.opts.Applied + 1
	if from < first {
		return fmt.Errorf("logstore: state is applied up to %d but the log starts at %d: entries are missing", c.opts.Applied, first)
	}
	for from <= last {
		ents, err := l.Entries(from, last+1, 8<<20)
		if err != nil {
			return fmt.Errorf("logstore: replay from %d: %w", from, err)
		}
		c.opts.Apply(ents)
		from = ents[len(ents)-1].Index + 1
	}
	c.written, c.synced, c.committed = last, last, last
	c.applied = max(last, c.opts.Applied)
	return nil
}

// Propose proposes one record. See ProposeBatch.
func (c *Committer) Propose(kind Kind, data []byte) *Proposal {
	p := &Proposal{done: make(chan struct{}), bytes: len(data)}
	p.one[0] = Record{kind, data}
	p.recs = p.one[:]
	c.enqueue(p)
	return p
}

// ProposeBatch proposes records that get consecutive indexes and are
// acknowledged together. recs (and their Data) must not be modified after.
func (c *Committer) ProposeBatch(recs []Record) *Proposal {
	p := &Proposal{done: make(chan struct{}), recs: recs}
	for i := range recs {
		p.bytes += len(recs[i].Data)
	}
	c.enqueue(p)
	return p
}

func (c *Committer) enqueue(p *Proposal) {
	for i := range p.recs {
		if n := len(p.recs[i].Data); n > MaxEntryBytes {
			// Refused alone: in a round it would fail everyone's batch.
			p.err = fmt.Errorf("%w: record of %d bytes, more than %d", ErrTooLarge, n, MaxEntryBytes)
			close(p.done)
			return
		}
	}
	c.mu.Lock()
	// Wait for room; the committer and applier never wait for a proposer,
	// so the queue always drains.
	for c.queued > 0 && c.queued+p.bytes > c.opts.MaxQueuedBytes && !c.closed && c.sealed == nil {
		c.room.Wait()
	}
	if c.closed || c.sealed != nil {
		err := c.sealed
		c.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		p.err = fmt.Errorf("%w: %w", ErrSealed, err)
		close(p.done)
		return
	}
	c.queued += p.bytes
	c.pending = append(c.pending, p)
	if len(c.pending) == 1 {
		c.wake.Signal()
	}
	c.mu.Unlock()
}

// release gives back the queue room of n proposal bytes (applied or failed).
func (c *Committer) release(n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.queued -= n
	c.room.Broadcast()
	c.mu.Unlock()
}

// Status returns the current indexes and health.
func (c *Committer) Status() Status {
	c.mu.Lock()
	s := Status{Written: c.written, Synced: c.synced, Committed: c.committed, Err: c.lastErr, Sealed: c.sealed != nil}
	if c.sealed != nil {
		s.Err = c.sealed
	}
	c.mu.Unlock()
	c.amu.Lock()
	s.Applied = c.applied
	c.amu.Unlock()
	return s
}

// Applied returns the applied index and a channel closed when it next grows.
func (c *Committer) Applied() (uint64, <-chan struct{}) {
	c.amu.Lock()
	defer c.amu.Unlock()
	return c.applied, c.appliedCh
}

// WaitApplied waits until entry i is applied, ctx ends, or the committer is
// closed.
func (c *Committer) WaitApplied(ctx context.Context, i uint64) error {
	return WaitApplied(ctx, c.Applied, i)
}

// WaitApplied waits until applied reports an index of at least i, or ctx
// ends; applied returns the index and a channel closed when it next grows
// (Committer.Applied, or a replicated member's).
func WaitApplied(ctx context.Context, applied func() (uint64, <-chan struct{}), i uint64) error {
	for {
		a, ch := applied()
		if a >= i {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close fails pending proposals with ErrSealed, waits for the goroutines
// and leaves the log open (its owner closes it).
func (c *Committer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	c.wake.Broadcast()
	c.room.Broadcast()
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}
