package nsqd

import (
	"testing"
	"time"
)

func paceTestChannel(t *testing.T) *Channel {
	t.Helper()
	opts := testOptions(t)
	opts.MemQueueSize = 10
	n := startNSQD(t, opts)
	tp, err := n.GetTopic("pace")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tp.GetChannel("c")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPaceNeeded: a publisher waits only while memory is full (or a disk
// backlog exists) and subscribers drain at least half as fast as messages
// are put (a quarter with a backlog), and not once they have been idle.
func TestPaceNeeded(t *testing.T) {
	c := paceTestChannel(t)
	now := time.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < 10; i++ {
		c.queue.pushBack(&Message{})
	}
	for _, tc := range []struct {
		name        string
		onDisk      int64
		put, take   int
		lastTakeAgo time.Duration
		n           int
		want        bool
	}{
		{"memory has room", 0, 100, 100, 0, 0, false},
		{"full, draining as fast", 0, 100, 100, 0, 1, true},
		{"full, draining at half", 0, 100, 50, 0, 1, true},
		{"full, draining slower", 0, 100, 49, 0, 1, false},
		{"full, subscribers idle", 0, 100, 100, 2 * paceIdle, 1, false},
		{"backlog, draining at a quarter", 5, 100, 25, 0, 0, true},
		{"backlog, draining slower", 5, 100, 24, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.onDisk = tc.onDisk
			c.putRate = rateMeter{last: now, perWindow: tc.put}
			c.takeRate = rateMeter{last: now - int64(tc.lastTakeAgo), perWindow: tc.take}
			if got := c.paceNeededLocked(tc.n, now); got != tc.want {
				t.Fatalf("paceNeededLocked = %v, want %v", got, tc.want)
			}
		})
	}
	c.onDisk = 0
	c.queue.clear()
}

// TestPaceCredit: taken messages release waiting publishers in arrival
// order, each once the subscribers took as many as it brings; with a
// disk backlog a taken message pays three quarters.
func TestPaceCredit(t *testing.T) {
	c := paceTestChannel(t)
	now := time.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	a := &pacer{need: 4, done: make(chan struct{})}
	b := &pacer{need: 2, done: make(chan struct{})}
	c.pacers = append(c.pacers, a, b)
	released := func(p *pacer) bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	c.creditLocked(3, now)
	if released(a) || released(b) {
		t.Fatal("released before the first publisher's credit was taken")
	}
	c.creditLocked(2, now)
	if !released(a) || released(b) {
		t.Fatal("want the first publisher released, and only it")
	}
	c.onDisk = 1
	c.creditLocked(1, now) // three quarters of one round down to none: 1 left over
	if released(b) {
		t.Fatal("released on a credit of zero")
	}
	c.creditLocked(4, now) // three more
	if !released(b) || len(c.pacers) != 0 {
		t.Fatal("want the second publisher released")
	}
	c.onDisk = 0
}
