package nsqd

import "github.com/dropin/nsq/internal/lg"

// A durable channel's queue has three parts, in delivery order:
//
//	queue   in memory: the next messages to deliver
//	disk    the backend, onDisk messages (with spills on their way there)
//	tail    in memory: messages that came while older ones were on disk
//
// The tail is non-empty only while onDisk > 0. Together queue and tail
// hold at most --mem-queue-size messages (more only while a subscriber
// waits or the backend refuses writes), the same bound as NSQ's memory
// channel. When a put takes them over it, the oldest part of the tail is
// detached as one spill batch (counted in onDisk from then on) and the
// goroutine that detached it writes the oldest pending batch to the
// backend after releasing Channel.mu; spillMu keeps those writes in the
// order the batches were detached. The disk pump reads the backend into
// queue and, once onDisk reaches 0, moves the tail behind it: the backlog
// is over and the tail is the ordinary memory queue again.

// pushDurableLocked places m in the queue or, while a backlog exists or
// memory is full, at the end of the tail; the caller then calls
// spillLocked. c.mu must be held.
func (c *Channel) pushDurableLocked(m *Message) {
	if c.onDisk > 0 || c.tail.len() > 0 ||
		c.queue.len() >= c.env.memQueueSize && c.queue.len() >= len(c.waiters) {
		c.tail.pushBack(m)
		return
	}
	c.queue.pushBack(m)
	c.wakeOneLocked()
}

// spillLocked detaches the oldest part of the tail when queue and tail
// hold more than --mem-queue-size: at least the excess, and a whole
// spillBatch when the tail has that many, so each disk write is a large
// one. It reports whether a batch waits for writeSpill. c.mu must be held.
//
// When a backlog starts (nothing on disk yet) the queue is full, so the
// tail could never gather a batch within the bound: every later put would
// write its own messages (one write(2) per one-message publish while
// nobody consumes). So the newest messages of the queue go to disk first,
// ahead of the tail, a batch less one of them: order is kept (they are
// older than the tail and newer than the rest of the queue), memory still
// holds at most --mem-queue-size, and from then on the tail fills a whole
// batch before each write.
func (c *Channel) spillLocked() bool {
	over := c.queue.len() + c.tail.len() - c.env.memQueueSize
	if !c.spillable || over <= 0 || c.tail.len() == 0 {
		return false
	}
	if c.onDisk == 0 {
		for k := c.env.spillBatch() - c.tail.len(); k > 0 && c.queue.len() > 0; k-- {
			c.tail.pushFront(c.queue.popBack())
		}
	}
	n := min(c.tail.len(), max(over, c.env.spillBatch()))
	batch := make([]*Message, n)
	for i := range batch {
		batch[i] = c.tail.popFront()
	}
	c.spills = append(c.spills, batch)
	c.spilling.Add(int64(n))
	c.onDisk += int64(n)
	return true
}

// writeSpill writes the oldest detached batch to the backend. It is
// called, with no lock held, once for every batch spillLocked detached,
// though not necessarily by the goroutine that detached it. A batch the
// backend refuses goes back to the front of the tail with every batch
// detached after it, so nothing overtakes it; it stays in memory until a
// later spill writes it (the publish that brought it was acknowledged).
func (c *Channel) writeSpill() {
	c.spillMu.Lock()
	c.mu.Lock()
	batch := c.popSpillLocked()
	c.mu.Unlock()
	c.writeClaimed(batch)
}

// claimSpillLocked is writeSpill's first half for a caller that holds
// c.mu: if no write is in progress it takes spillMu (without waiting, so
// the lock order holds) and returns the oldest batch for writeClaimed.
// It returns nil when the caller must call writeSpill instead.
func (c *Channel) claimSpillLocked() []*Message {
	if !c.spillMu.TryLock() {
		return nil
	}
	if batch := c.popSpillLocked(); batch != nil {
		return batch
	}
	c.spillMu.Unlock()
	return nil
}

// spillDone finishes what spillLocked started: it writes the batch
// claimSpillLocked claimed, or the oldest pending one.
func (c *Channel) spillDone(claimed []*Message) {
	if claimed != nil {
		c.writeClaimed(claimed)
	} else {
		c.writeSpill()
	}
}

func (c *Channel) popSpillLocked() []*Message {
	if len(c.spills) == 0 {
		return nil // close, Empty or a failed write took it
	}
	batch := c.spills[0]
	c.spills[0] = nil
	c.spills = c.spills[1:]
	return batch
}

// writeClaimed writes batch, taken off spills while c.spillMu was held,
// and releases c.spillMu.
func (c *Channel) writeClaimed(batch []*Message) {
	defer c.spillMu.Unlock()
	if batch == nil {
		return
	}
	err := putRecords(c.backend, batch)
	cost := recordsCost(batch)
	if err == nil {
		// the backend counts them now; no lock needed
		c.spilling.Add(-int64(len(batch)))
	} else {
		c.mu.Lock()
		c.spilling.Add(-int64(len(batch)))
		c.unspillLocked(batch)
		c.mu.Unlock()
		c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to write message to backend, keeping %d in memory: %s",
			c.topicName, c.name, len(batch), err)
		c.env.onDiskError(err)
		return
	}
	c.room.wrote(cost)
	c.room.unhold(cost)
	c.env.onDiskOK()
}

// unspillLocked puts a batch the backend refused, and every batch still
// waiting behind it, back at the front of the tail in order. c.mu and
// c.spillMu must be held.
func (c *Channel) unspillLocked(failed []*Message) {
	back := append([][]*Message{failed}, c.spills...)
	clear(c.spills)
	c.spills = c.spills[:0]
	for i := len(back) - 1; i >= 0; i-- {
		b := back[i]
		for j := len(b) - 1; j >= 0; j-- {
			c.tail.pushFront(b[j])
		}
		c.onDisk -= int64(len(b))
		if i > 0 {
			c.spilling.Add(-int64(len(b)))
		}
	}
	c.mergeTailLocked()
}

// mergeTailLocked ends a backlog once nothing is left on disk: the tail
// joins the queue behind what the disk pump read. c.mu must be held.
func (c *Channel) mergeTailLocked() {
	if c.onDisk > 0 {
		return
	}
	for c.tail.len() > 0 {
		c.queue.pushBack(c.tail.popFront())
		c.wakeOneLocked()
	}
}

// memDepthLocked is the number of queued messages in memory: queue,
// tail and detached spill batches. c.mu must be held.
func (c *Channel) memDepthLocked() int {
	return c.queue.len() + c.tail.len() + int(c.spilling.Load())
}

// takeBacklogLocked empties the spill batches and the tail, in order, and
// appends their messages to out. c.mu must be held, and c.spillMu so no
// write is in progress.
func (c *Channel) takeBacklogLocked(out []*Message) []*Message {
	for _, b := range c.spills {
		out = append(out, b...)
	}
	clear(c.spills)
	c.spills = c.spills[:0]
	c.onDisk -= c.spilling.Swap(0)
	c.tail.drain(func(m *Message) { out = append(out, m) })
	return out
}
