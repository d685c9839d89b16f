package harvester

import (
	"context"
	"time"

	"github.com/dropin/nsq/internal/batchpub"
	"github.com/dropin/nsq/internal/lg"
)

// errorLogEvery throttles the log line repeated while nsqd stays down.
const errorLogEvery = 30 * time.Second

// publishLoop is the only sender: it takes one batch at a time from the
// queue and delivers it before taking the next, so events reach nsqd and
// are acknowledged in the order they were read (per file and overall).
func (h *Harvester) publishLoop(ctx context.Context) {
	defer h.wg.Done()
	failures := batchpub.Failures{Every: errorLogEvery}
	retry := batchpub.Retry{
		Backoff:    h.opts.OutputBackoff,
		MaxBackoff: h.opts.OutputMaxBackoff,
		OnError: func(err error, bodies int) {
			h.c.publishErrors.Add(1)
			h.c.eventsRetried.Add(int64(bodies))
			if attempt, log := failures.Failed(); log {
				h.log.Logf(lg.WARN, "OUTPUT: %s (attempt %d; retrying, %d events pending)", err, attempt, h.c.eventsPending.Load())
			}
		},
	}
	batches := batchpub.Source[[]event]{
		Size:    h.opts.BatchSize,
		Timeout: h.opts.BatchTimeout,
		Wake:    h.q.data,
		State:   h.queueState,
		Take:    func() []event { return h.q.take(h.opts.BatchSize, h.opts.BatchBytes) },
	}
	for {
		batch, ok := batches.Next(ctx)
		if !ok {
			return
		}
		done := h.send(ctx, batch, &retry)
		if done == len(batch) {
			if attempts := failures.Recovered(); attempts > 0 {
				h.log.Logf(lg.INFO, "OUTPUT: publishing again after %d failed attempts", attempts)
			}
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

// queueState is the queue as the publisher's batchpub.Source sees it:
// draining at shutdown flushes what is queued and then ends.
func (h *Harvester) queueState() (queued int, flush, ended bool) {
	draining := false
	select {
	case <-h.drain:
		draining = true
	default:
	}
	return h.q.queued(), draining, draining
}

// send publishes the batch's messages as MPUBs (retrying until nsqd
// accepts them) and returns how many leading events are done: all of
// them, or fewer if ctx ended first.
func (h *Harvester) send(ctx context.Context, batch []event, retry *batchpub.Retry) int {
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
