package harvester

import (
	"context"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/nsqlog"
)

// errorLogEvery throttles the log line repeated while nsqd stays down.
const errorLogEvery = 30 * time.Second

// publishLoop is the only sender: it takes one batch at a time from the
// queue and delivers it before taking the next, so events reach nsqd and
// are acknowledged in the order they were read (per file and overall).
func (h *Harvester) publishLoop(ctx context.Context) {
	defer h.wg.Done()
	var (
		failing  bool
		failures int
		lastLog  time.Time
	)
	retry := nsqlog.Retry{
		Backoff:    h.opts.OutputBackoff,
		MaxBackoff: h.opts.OutputMaxBackoff,
		OnError: func(err error, bodies int) {
			h.c.publishErrors.Add(1)
			h.c.eventsRetried.Add(int64(bodies))
			failures++
			if !failing || time.Since(lastLog) >= errorLogEvery {
				h.log.Logf(lg.WARN, "OUTPUT: %s (attempt %d; retrying, %d events pending)", err, failures, h.c.eventsPending.Load())
				lastLog = time.Now()
			}
			failing = true
		},
	}
	for {
		batch, ok := h.nextBatch(ctx)
		if !ok {
			return
		}
		done := h.send(ctx, batch, &retry)
		if done == len(batch) && failing {
			h.log.Logf(lg.INFO, "OUTPUT: publishing again after %d failed attempts", failures)
			failing, failures = false, 0
		}
		h.table.ack(batch[:done])
		h.c.eventsAcked.Add(int64(done))
		h.q.release(batch)
		if h.opts.RegistryFlush == 0 && done > 0 {
			h.persist(false)
		}
		if done < len(batch) {
			return // aborted at shutdown
		}
	}
}

// nextBatch waits until a batch is due (BatchSize messages queued, or
// BatchTimeout since the first waiting one, or draining at shutdown) and
// takes it. ok is false when ctx ended, or when draining found the queue
// empty.
func (h *Harvester) nextBatch(ctx context.Context) ([]event, bool) {
	var timer *time.Timer
	var timeout <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	expired := false
	for {
		if ctx.Err() != nil {
			return nil, false
		}
		draining := false
		select {
		case <-h.drain:
			draining = true
		default:
		}
		n := h.q.queued()
		if n > 0 && (n >= h.opts.BatchSize || expired || draining) {
			return h.q.take(h.opts.BatchSize, h.opts.BatchBytes), true
		}
		if n == 0 && draining {
			return nil, false
		}
		if n > 0 && timer == nil {
			timer = time.NewTimer(h.opts.BatchTimeout)
			timeout = timer.C
		}
		select {
		case <-h.q.data:
		case <-timeout:
			expired = true
		case <-h.drain:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// send publishes the batch's messages as MPUBs (retrying until nsqd
// accepts them) and returns how many leading events are done: all of
// them, or fewer if ctx ended first.
func (h *Harvester) send(ctx context.Context, batch []event, retry *nsqlog.Retry) int {
	bodies := make([][]byte, 0, len(batch))
	owner := make([]int, 0, len(batch)) // bodies[i] is batch[owner[i]]
	for i, ev := range batch {
		if ev.data != nil {
			bodies = append(bodies, ev.data)
			owner = append(owner, i)
		}
	}
	if len(bodies) == 0 {
		return len(batch)
	}
	rejected := 0
	retry.OnRejected = func(i int, err error) {
		rejected++
		h.c.eventsRejected.Add(1)
		ev := batch[owner[i]]
		h.log.Logf(lg.ERROR, "OUTPUT: nsqd refused a %d-byte message ending at offset %d of %s, giving it up: %s", len(ev.data), ev.end, h.pathOf(ev.st), err)
	}
	n, err := h.pub.PublishRetry(ctx, h.opts.Topic, bodies, *retry)
	h.c.eventsPublished.Add(int64(n - rejected))
	if err == nil {
		return len(batch)
	}
	if n == 0 {
		return 0
	}
	return owner[n-1] + 1
}

func (h *Harvester) pathOf(st *fileState) string {
	h.table.mu.Lock()
	defer h.table.mu.Unlock()
	return st.path
}

// registrarLoop persists acknowledged offsets at most once per
// RegistryFlush.
func (h *Harvester) registrarLoop(ctx context.Context) {
	defer h.wg.Done()
	every(ctx, h.opts.RegistryFlush, func() { h.persist(false) })
}

// statsLoop logs the counters every StatsInterval.
func (h *Harvester) statsLoop(ctx context.Context) {
	defer h.wg.Done()
	every(ctx, h.opts.StatsInterval, func() { h.log.Logf(lg.INFO, "STATS: %s", h.Stats()) })
}
