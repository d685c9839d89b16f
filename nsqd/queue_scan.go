package nsqd

import (
	"math/rand/v2"
	"time"
)

// queueScanLoop requeues timed-out in-flight messages and releases due
// deferred ones. Every --queue-scan-interval (100 ms) it samples up to
// --queue-scan-selection-count channels and has a pool of up to
// --queue-scan-worker-pool-max workers process them; while more than
// QueueScanDirtyPercent of a sample had work it samples again at once.
// The channel list and pool size are refreshed every 5 s, and at the next
// tick after a channel is created or deleted.
func (n *NSQD) queueScanLoop() {
	work := make(chan *Channel, n.opts.QueueScanSelectionCount)
	results := make(chan bool, n.opts.QueueScanSelectionCount)
	closeCh := make(chan struct{})
	workers := 0
	resize := func(channels int) {
		want := channels / 4
		if want < 1 {
			want = 1
		}
		if want > n.opts.QueueScanWorkerPoolMax {
			want = n.opts.QueueScanWorkerPoolMax
		}
		for ; workers < want; workers++ {
			n.wg.Add(1)
			go n.queueScanWorker(work, results, closeCh)
		}
		for ; workers > want; workers-- {
			closeCh <- struct{}{}
		}
	}
	scanTicker := time.NewTicker(n.opts.QueueScanInterval)
	refreshTicker := time.NewTicker(n.opts.QueueScanRefreshInterval)
	defer scanTicker.Stop()
	defer refreshTicker.Stop()
	gen := n.chanGen.Load()
	channels := n.allChannels()
	resize(len(channels))
	for {
		select {
		case <-scanTicker.C:
			// pick up new channels at once, not only at the refresh
			if g := n.chanGen.Load(); g != gen {
				gen = g
				channels = n.allChannels()
				resize(len(channels))
			}
		case <-refreshTicker.C:
			channels = n.allChannels()
			resize(len(channels))
			continue
		case <-n.exitCh:
			for ; workers > 0; workers-- {
				closeCh <- struct{}{}
			}
			return
		}
		for len(channels) > 0 {
			count := n.opts.QueueScanSelectionCount
			if count > len(channels) {
				count = len(channels)
			}
			for _, i := range rand.Perm(len(channels))[:count] {
				work <- channels[i]
			}
			dirty := 0
			for i := 0; i < count; i++ {
				if <-results {
					dirty++
				}
			}
			if float64(dirty)/float64(count) <= n.opts.QueueScanDirtyPercent {
				break
			}
		}
	}
}

func (n *NSQD) queueScanWorker(work <-chan *Channel, results chan<- bool, closeCh <-chan struct{}) {
	defer n.wg.Done()
	for {
		select {
		case c := <-work:
			now := time.Now().UnixNano()
			dirty := c.processInFlight(now)
			if c.processDeferred(now) {
				dirty = true
			}
			results <- dirty
		case <-closeCh:
			return
		}
	}
}

// allChannels lists every channel of every topic.
func (n *NSQD) allChannels() []*Channel {
	var out []*Channel
	for _, t := range n.topicList() {
		out = append(out, t.Channels()...)
	}
	return out
}
