package batchpub

import (
	"context"
	"time"
)

// Source is a buffer that a single sender takes MPUB batches from. The
// owner fills the buffer from any goroutine; Next is called by the sender
// only.
type Source[B any] struct {
	// Size is how many queued items make a batch due at once.
	Size int
	// Timeout is the longest the first waiting item waits for its batch
	// to fill.
	Timeout time.Duration
	// Wake is signalled (a send that may be dropped when one is pending,
	// so capacity 1) after items are added and after flush or ended turn
	// true.
	Wake <-chan struct{}
	// State reports how many items wait, whether the owner wants them
	// sent now without waiting (flush: Sync, Close, a drain), and whether
	// no more will come once they are gone (ended).
	State func() (queued int, flush, ended bool)
	// Take removes the next batch from the buffer; it is called only
	// when items wait.
	Take func() B
}

// Next waits until a batch is due — Size items queued, Timeout passed
// since the first waiting item was seen, or flush asked — and takes it.
// ok is false when ctx ended, or when the buffer is empty and ended.
func (s *Source[B]) Next(ctx context.Context) (batch B, ok bool) {
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
			return batch, false
		}
		n, flush, ended := s.State()
		if n > 0 && (n >= s.Size || expired || flush) {
			return s.Take(), true
		}
		if n == 0 && ended {
			return batch, false
		}
		if n > 0 && timer == nil {
			timer = time.NewTimer(s.Timeout)
			timeout = timer.C
		}
		select {
		case <-s.Wake:
		case <-timeout:
			expired = true
		case <-ctx.Done():
			return batch, false
		}
	}
}

// Fit says how many of n leading items go into one MPUB: at most maxMsgs
// messages whose MPUB body (a 4-byte count, then a 4-byte size before each
// message) stays within maxBody bytes, and always the first message even
// if it alone is larger. size(i) is the length of item i's message, or -1
// for an item that carries none (it rides along for free). It returns the
// number of items and the sum of their message lengths.
func Fit(n, maxMsgs, maxBody int, size func(i int) int) (items, bytes int) {
	body, msgs := 4, 0
	for items < n {
		l := size(items)
		if l >= 0 {
			if msgs == maxMsgs || (msgs > 0 && body+4+l > maxBody) {
				break
			}
			msgs++
			body += 4 + l
			bytes += l
		}
		items++
	}
	return items, bytes
}

// Failures follows a run of failed publish attempts so that the log says
// when delivery stopped working, repeats it at most once every Every while
// it stays broken, and says when it works again. Not safe for concurrent
// use: it belongs to the sender.
type Failures struct {
	Every time.Duration

	run     int // failed attempts since the last success
	lastLog time.Time
}

// Failed records a failed attempt. It returns the attempt's number within
// the run and whether to log it: the first of a run, then one per Every.
func (f *Failures) Failed() (attempt int, log bool) {
	f.run++
	if f.run == 1 || time.Since(f.lastLog) >= f.Every {
		f.lastLog = time.Now()
		return f.run, true
	}
	return f.run, false
}

// Recovered ends the run after a success and returns how many attempts
// had failed in it (0: there was no run, nothing to log).
func (f *Failures) Recovered() int {
	n := f.run
	f.run = 0
	return n
}
