package nsqlog

import (
	"fmt"
	"time"
)

// errorLogEvery throttles the log line repeated while nsqd stays down.
const errorLogEvery = 10 * time.Second

// flusher is the Writer's only sender: it takes one batch at a time from
// the buffer and delivers it before taking the next, so lines reach nsqd
// in the order they were written.
func (w *Writer) flusher() {
	defer close(w.flushed)
	var (
		failing  bool
		lastLog  time.Time
		failures int
	)
	retry := Retry{
		Backoff:    w.opts.RetryBackoff,
		MaxBackoff: w.opts.MaxRetryBackoff,
		OnError: func(err error, bodies int) {
			w.retries.Add(1)
			failures++
			if !failing || time.Since(lastLog) >= errorLogEvery {
				w.opts.Logger.Output(2, fmt.Sprintf("WARNING: %s (attempt %d, retrying; %d lines buffered)", err, failures, w.Stats().Buffered))
				lastLog = time.Now()
			}
			failing = true
		},
	}
	for {
		batch, size, ok := w.nextBatch()
		if !ok {
			return
		}
		rejected := 0
		retry.OnRejected = func(index int, err error) {
			rejected++
			w.opts.Logger.Output(2, fmt.Sprintf("ERROR: nsqd refused a %d-byte line, giving it up: %s", len(batch[index]), err))
		}
		n, err := w.pub.PublishRetry(w.ctx, w.opts.Topic, batch, retry)
		lost := 0
		if err != nil {
			lost = len(batch) - n
		}
		if err == nil && failing {
			w.opts.Logger.Output(2, fmt.Sprintf("INFO: delivering again after %d failed attempts", failures))
			failing, failures = false, 0
		}
		w.rejected.Add(int64(rejected))
		w.delivered.Add(int64(len(batch) - lost - rejected))
		if lost > 0 {
			w.dropped.Add(int64(lost))
			w.lostAtClose.Add(int64(lost))
		}
		w.finish(len(batch), size)
	}
}

// nextBatch waits until a batch is due (full, BatchTimeout passed since
// the first waiting line, or Sync/Close asked) and takes it from the
// buffer. ok is false when the Writer is closed and empty, or aborted.
func (w *Writer) nextBatch() (batch [][]byte, size int, ok bool) {
	var timer *time.Timer
	var timeout <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	expired := false
	for {
		if w.ctx.Err() != nil {
			return nil, 0, false
		}
		w.mu.Lock()
		n := len(w.buf)
		due := n >= w.opts.BatchSize || expired || w.closed || w.urgent > w.done
		if n > 0 && due {
			batch, size = w.takeLocked()
			w.mu.Unlock()
			return batch, size, true
		}
		closed := w.closed
		w.mu.Unlock()
		if n == 0 && closed {
			return nil, 0, false
		}
		if n > 0 && timer == nil {
			timer = time.NewTimer(w.opts.BatchTimeout)
			timeout = timer.C
		}
		select {
		case <-w.kick:
		case <-timeout:
			expired = true
		case <-w.ctx.Done():
			return nil, 0, false
		}
	}
}

// takeLocked removes up to BatchSize lines whose MPUB body fits
// BatchBytes (always at least one line) from the head of the buffer.
func (w *Writer) takeLocked() ([][]byte, int) {
	body := 4 // MPUB message count
	size := 0
	n := 0
	for n < len(w.buf) && n < w.opts.BatchSize {
		l := len(w.buf[n])
		if n > 0 && body+4+l > w.opts.BatchBytes {
			break
		}
		body += 4 + l
		size += l
		n++
	}
	batch := w.buf[:n:n]
	w.buf = w.buf[n:]
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return batch, size
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
