package harvester

import (
	"context"
	"errors"
	"sync"

	"github.com/dropin/nsq/internal/batchpub"
)

// event is one message (or offset-only marker) on its way to nsqd, with
// what the registrar needs to move its file's offset once it is acked.
type event struct {
	st   *fileState
	gen  uint64 // the state's generation when read; stale after a truncation
	end  int64  // file offset just past the event
	data []byte // nil: nothing to send, only the offset moves
}

// errQueueClosed is returned by push after close.
var errQueueClosed = errors.New("queue closed")

// queue is the bounded buffer between the harvesters and the publisher.
// Its limits count every event from push until release (after nsqd's ack),
// so memory held for unacknowledged lines is bounded by maxEvents and
// maxBytes (one event is always let in when nothing is pending, so a
// single line larger than maxBytes cannot deadlock). Safe for concurrent
// use.
type queue struct {
	maxEvents int
	maxBytes  int
	c         *counters

	mu        sync.Mutex    // guards the fields up to the blank line
	items     []event       // pushed, not yet taken
	pending   int           // events pushed and not yet released
	pendBytes int           // their data bytes
	closed    bool          // push fails from now on
	room      chan struct{} // closed (and replaced) when room frees up or on close

	data chan struct{} // capacity 1: wakes the publisher after a push or a drain
}

func newQueue(maxEvents, maxBytes int, c *counters) *queue {
	return &queue{
		maxEvents: maxEvents,
		maxBytes:  maxBytes,
		c:         c,
		room:      make(chan struct{}),
		data:      make(chan struct{}, 1),
	}
}

func (q *queue) fullLocked(n int) bool {
	if q.pending == 0 {
		return false
	}
	return q.pending >= q.maxEvents || q.pendBytes+n > q.maxBytes
}

// push appends ev, waiting while the queue is full. It fails with ctx's
// error or errQueueClosed.
func (q *queue) push(ctx context.Context, ev event) error {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return errQueueClosed
		}
		if !q.fullLocked(len(ev.data)) {
			break
		}
		ch := q.room
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	q.items = append(q.items, ev)
	q.pending++
	q.pendBytes += len(ev.data)
	q.mu.Unlock()
	q.c.eventsPending.Add(1)
	q.wake()
	return nil
}

// wake signals the publisher that the queue changed.
func (q *queue) wake() {
	select {
	case q.data <- struct{}{}:
	default:
	}
}

// queued returns how many events wait to be taken.
func (q *queue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// take removes events from the head: at most maxMsgs with data, whose
// MPUB body stays within maxBody bytes (at least one event is taken if any
// is queued). Offset-only events ride along for free.
func (q *queue) take(maxMsgs, maxBody int) []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, _ := batchpub.Fit(len(q.items), maxMsgs, maxBody, func(i int) int {
		if q.items[i].data == nil {
			return -1
		}
		return len(q.items[i].data)
	})
	batch := make([]event, n)
	copy(batch, q.items[:n])
	clear(q.items[:n])
	q.items = q.items[n:]
	if len(q.items) == 0 {
		q.items = nil
	}
	return batch
}

// release frees the room held by acknowledged (or abandoned) events.
func (q *queue) release(evs []event) {
	if len(evs) == 0 {
		return
	}
	size := 0
	for _, ev := range evs {
		size += len(ev.data)
	}
	q.mu.Lock()
	q.pending -= len(evs)
	q.pendBytes -= size
	close(q.room)
	q.room = make(chan struct{})
	q.mu.Unlock()
	q.c.eventsPending.Add(-int64(len(evs)))
}

// close makes push fail and wakes every waiting pusher.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.room)
		q.room = make(chan struct{})
	}
}
