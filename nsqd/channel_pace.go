package nsqd

import (
	"slices"
	"time"
)

// Publish pacing. A durable channel whose memory is full starts a disk
// backlog: every message after that is written to disk and read back
// (channel_spill.go) until the subscribers catch up, which costs both
// sides far more than a message handed over in memory. When the
// subscribers are nearly keeping up (they take at least half as many
// messages as are put; a quarter while a disk backlog slows them), a publisher of the topic instead waits, before it
// places its messages, until the subscribers have taken as many as it
// brings, but never longer than paceMaxWait: publishing then runs at the
// rate of delivery and the messages stay in memory. Subscribers that are
// slower than that, or have taken nothing for paceIdle, never hold a
// publisher back: the backlog goes to disk as in NSQ.
const (
	paceMaxWait = 2 * time.Millisecond
	paceIdle    = 5 * time.Millisecond
	paceWindow  = 5 * time.Millisecond // rate measurement window
)

// pacer is one publisher waiting for its credit.
type pacer struct {
	need int
	done chan struct{}
}

// rateMeter counts events per paceWindow. Not safe for concurrent use.
type rateMeter struct {
	start, last int64 // unix ns: window start, last event
	count       int   // events in the current window
	perWindow   int   // events in the last full window
}

func (r *rateMeter) add(now int64, n int) {
	r.last = now
	r.count += n
	if el := now - r.start; el >= int64(paceWindow) {
		// scaled to one window: an idle gap lowers the rate
		r.perWindow = int(int64(r.count) * int64(paceWindow) / el)
		r.start, r.count = now, 0
	}
}

// paceNeededLocked reports whether a publisher bringing n messages should
// wait: memory is full (or a backlog is on disk) and the subscribers are
// draining nearly as fast as messages come. c.mu must be held.
func (c *Channel) paceNeededLocked(n int, now int64) bool {
	if c.memDepthLocked()+n <= c.env.memQueueSize && c.onDisk == 0 {
		return false
	}
	if now-c.takeRate.last > int64(paceIdle) || c.takeRate.perWindow == 0 {
		return false
	}
	// a disk backlog itself slows delivery (the disk pump competes with
	// the spill writes), so while there is one a quarter is enough
	factor := 2
	if c.onDisk > 0 {
		factor = 4
	}
	return factor*c.takeRate.perWindow >= c.putRate.perWindow
}

// pace makes a publisher of n messages wait, with no lock held, until the
// subscribers have taken n messages or deadline passes, when the channel
// needs it (see above). The check costs one atomic load otherwise.
func (c *Channel) pace(n int, deadline time.Time) {
	if !c.paceHint.Load() {
		return
	}
	now := time.Now()
	wait := deadline.Sub(now)
	if wait <= 0 || now.UnixNano()-c.lastTake.Load() > int64(paceIdle) {
		return // no subscriber is taking: nothing to wait for
	}
	c.mu.Lock()
	if c.exiting || !c.paceNeededLocked(n, now.UnixNano()) {
		c.mu.Unlock()
		return
	}
	p := &pacer{need: n, done: make(chan struct{})}
	c.pacers = append(c.pacers, p)
	c.mu.Unlock()
	t := time.NewTimer(wait)
	select {
	case <-p.done:
	case <-t.C:
		c.mu.Lock()
		for i, q := range c.pacers {
			if q == p {
				c.pacers = slices.Delete(c.pacers, i, i+1)
				break
			}
		}
		c.mu.Unlock()
	}
	t.Stop()
}

// creditLocked records k messages taken by subscribers and releases the
// waiting publishers they pay for, in arrival order. While a backlog is
// on disk a taken message pays for only three quarters of one, so the
// backlog shrinks. c.mu must be held.
func (c *Channel) creditLocked(k int, now int64) {
	c.takeRate.add(now, k)
	c.lastTake.Store(now)
	if len(c.pacers) == 0 {
		c.credit = 0
		return
	}
	if c.onDisk > 0 {
		k = k * 3 / 4
	}
	c.credit += k
	for len(c.pacers) > 0 && c.credit >= c.pacers[0].need {
		p := c.pacers[0]
		c.credit -= p.need
		close(p.done)
		c.pacers[0] = nil
		c.pacers = c.pacers[1:]
	}
}

// releasePacersLocked lets every waiting publisher go (the channel is
// closing or emptied). c.mu must be held.
func (c *Channel) releasePacersLocked() {
	for _, p := range c.pacers {
		close(p.done)
	}
	clear(c.pacers)
	c.pacers = c.pacers[:0]
	c.credit = 0
}

// updatePaceHintLocked sets the hint pace reads without the lock. c.mu
// must be held.
func (c *Channel) updatePaceHintLocked() {
	full := c.spillable && c.env.memQueueSize > 0 &&
		(c.onDisk > 0 || c.memDepthLocked() >= c.env.memQueueSize)
	if c.paceHint.Load() != full {
		c.paceHint.Store(full)
	}
}
