package nsqlog

import (
	"fmt"
	"time"

	"github.com/dropin/nsq/internal/batchpub"
)

// errorLogEvery throttles the log line repeated while nsqd stays down.
const errorLogEvery = 10 * time.Second

// flusher is the Writer's only sender: it takes one batch at a time from
// the buffer and delivers it before taking the next, so lines reach nsqd
// in the order they were written.
func (w *Writer) flusher() {
	defer close(w.flushed)
	failures := batchpub.Failures{Every: errorLogEvery}
	retry := batchpub.Retry{
		Backoff:    w.opts.RetryBackoff,
		MaxBackoff: w.opts.MaxRetryBackoff,
		OnError: func(err error, bodies int) {
			w.retries.Add(1)
			if attempt, log := failures.Failed(); log {
				w.opts.Logger.Output(2, fmt.Sprintf("WARNING: %s (attempt %d, retrying; %d lines buffered)", err, attempt, w.Stats().Buffered))
			}
		},
	}
	for {
		b, ok := w.batches.Next(w.ctx)
		if !ok {
			return
		}
		rejected := 0
		retry.OnRejected = func(index int, err error) {
			rejected++
			w.opts.Logger.Output(2, fmt.Sprintf("ERROR: nsqd refused a %d-byte line, giving it up: %s", len(b.lines[index]), err))
		}
		n, err := w.pub.PublishRetry(w.ctx, w.opts.Topic, b.lines, retry)
		lost := 0
		if err != nil {
			lost = len(b.lines) - n
		}
		if err == nil {
			if attempts := failures.Recovered(); attempts > 0 {
				w.opts.Logger.Output(2, fmt.Sprintf("INFO: delivering again after %d failed attempts", attempts))
			}
		}
		w.rejected.Add(int64(rejected))
		w.delivered.Add(int64(len(b.lines) - lost - rejected))
		if lost > 0 {
			w.dropped.Add(int64(lost))
			w.lostAtClose.Add(int64(lost))
		}
		w.finish(len(b.lines), b.size)
	}
}

// lineBatch is a batch taken from the buffer, with its message bytes.
type lineBatch struct {
	lines [][]byte
	size  int
}

// bufState is the buffer as the flusher's batchpub.Source sees it: a
// batch is flushed at once after Close or while a Sync waits, and the
// buffer ends with Close.
func (w *Writer) bufState() (queued int, flush, ended bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf), w.closed || w.urgent > w.done, w.closed
}

// take removes up to BatchSize lines whose MPUB body fits BatchBytes
// (always at least one line) from the head of the buffer.
func (w *Writer) take() lineBatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, size := batchpub.Fit(len(w.buf), w.opts.BatchSize, w.opts.BatchBytes, func(i int) int { return len(w.buf[i]) })
	batch := w.buf[:n:n]
	w.buf = w.buf[n:]
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return lineBatch{batch, size}
}

// finish releases n lines of size bytes from the pending count and wakes
// blocked writers and waiting Syncs.
func (w *Writer) finish(n, size int) {
	w.mu.Lock()
	w.pending -= n
	w.pendBig -= size
	w.done += uint64(n)
	close(w.roomCh)
	w.roomCh = make(chan struct{})
	close(w.doneCh)
	w.doneCh = make(chan struct{})
	w.mu.Unlock()
}
