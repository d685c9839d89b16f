package nsqd

import (
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/storage"
)

// writeOverflow stores messages that did not fit in memory; fromMemory
// says they were held there before (requeued, released deferrals). What
// the backend refuses stays in memory beyond --mem-queue-size rather than
// being lost: the publish that brought it was acknowledged.
func (c *Channel) writeOverflow(msgs []*Message, fromMemory bool) {
	if len(msgs) == 0 {
		return
	}
	// one batch: all or nothing
	if err := putRecords(c.backend, msgs); err != nil {
		c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to write message to backend, keeping %d in memory: %s",
			c.topicName, c.name, len(msgs), err)
		c.env.onDiskError(err)
		c.keepInMemory(msgs, fromMemory)
		return
	}
	cost := recordsCost(msgs)
	c.room.wrote(cost)
	if fromMemory {
		c.room.unhold(cost)
	}
	c.env.onDiskOK()
}

// flushToBackend writes msgs on a clean stop: one batch, or when that
// fails (a full disk), one by one so that as many as fit survive.
func flushToBackend(b storage.Backend, msgs []*Message) error {
	recs := encodeBatch(msgs)
	err := b.PutBatch(recs)
	if err == nil {
		return nil
	}
	for _, r := range recs {
		if b.Put(r) != nil {
			break
		}
	}
	return err
}

// keepInMemory queues msgs in memory whatever its size.
func (c *Channel) keepInMemory(msgs []*Message, held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return // deleted meanwhile; close writes memory out itself
	}
	for _, m := range msgs {
		c.queue.pushBack(m)
		c.wakeOneLocked()
	}
	if !c.ephemeral {
		c.onDisk -= int64(len(msgs)) // counted by pushLocked, never written
	}
	if !held {
		c.room.hold(recordsCost(msgs))
	}
}

// diskPump moves messages from the backend into memory whenever the memory
// queue runs low, so subscribers take batches from one place.
func (c *Channel) diskPump() {
	defer c.pumpDone.Done()
	for {
		select {
		case <-c.diskWant:
		case <-c.exitCh:
			return
		}
		if !c.fillFromDisk() {
			return
		}
	}
}

// fillFromDisk reads batches from the backend until the memory queue is
// above its low water mark, waiting for writes when the backend is empty.
// It returns false when the channel is exiting.
func (c *Channel) fillFromDisk() bool {
	for {
		c.mu.Lock()
		want := c.env.lowWater() - c.queue.len()
		exiting := c.exiting
		epoch := c.epoch
		c.mu.Unlock()
		if exiting {
			return false
		}
		if want <= 0 {
			return true
		}
		recs := c.backend.Read(want)
		if len(recs) == 0 {
			select {
			case <-c.backend.Ready():
				continue
			case <-c.exitCh:
				return false
			}
		}
		msgs := decodeBatch(recs, func(err error) {
			c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): dropping unreadable disk record: %s", c.topicName, c.name, err)
		})
		c.mu.Lock()
		switch {
		case c.exiting:
			c.mu.Unlock()
			// closing: put them back so they survive the restart
			if err := c.backend.PutBatch(recs); err != nil {
				c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to return %d messages to backend: %s", c.topicName, c.name, len(recs), err)
			}
			c.room.wrote(recordsCost(msgs))
			return false
		case c.epoch != epoch:
			// emptied while we read them
		default:
			// also the unreadable records: they left the backend
			c.onDisk = max(0, c.onDisk-int64(len(recs)))
			for _, m := range msgs {
				c.queue.pushBack(m)
				c.wakeOneLocked()
			}
			c.room.hold(recordsCost(msgs))
			if len(msgs) > 0 {
				c.diskReadTS.Store(msgs[len(msgs)-1].Timestamp)
			}
			c.mergeTailLocked()
			c.updatePaceHintLocked()
		}
		c.mu.Unlock()
	}
}

// deferred messages are written to the backend (attempts kept, deferral
// and in-flight state lost), as NSQ does on a clean stop.
func (c *Channel) close() error {
	var err error
	c.closeOnce.Do(func() {
		c.markExiting()
		close(c.exitCh)
		c.pumpDone.Wait()
		c.spillMu.Lock() // wait for a spill write in progress
		defer c.spillMu.Unlock()
		c.mu.Lock()
		// the backlog behind the disk first, so that after a restart it
		// follows the disk's records, then the (older) memory queue
		pending := c.takeBacklogLocked(nil)
		c.queue.drain(func(m *Message) { pending = append(pending, m) })
		for _, m := range c.inFlightPQ {
			pending = append(pending, m)
		}
		for _, m := range c.deferredPQ {
			pending = append(pending, m)
		}
		if c.lm != nil {
			c.logCloseLocked()
		}
		c.inFlightPQ, c.deferredPQ = nil, nil
		clear(c.inFlight)
		clear(c.deferred)
		c.mu.Unlock()
		if !c.ephemeral && len(pending) > 0 {
			c.env.log.Logf(lg.INFO, "CHANNEL(%s:%s): flushing %d messages to backend", c.topicName, c.name, len(pending))
		}
		if len(pending) > 0 {
			if e := flushToBackend(c.backend, pending); e != nil {
				err = e
				c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to flush %d messages: %s", c.topicName, c.name, len(pending), e)
			}
		}
		cost := recordsCost(pending)
		c.room.wrote(cost)
		c.room.unhold(cost)
		if e := c.backend.Close(); e != nil && err == nil {
			err = e
		}
		c.room.queueClosed()
	})
	return err
}

// delete shuts the channel down and removes its data. Subscribers are
// disconnected.
func (c *Channel) delete() error {
	var err error
	c.closeOnce.Do(func() {
		for _, cl := range c.markExiting() {
			cl.closeConn()
		}
		close(c.exitCh)
		c.pumpDone.Wait()
		c.spillMu.Lock()
		defer c.spillMu.Unlock()
		c.mu.Lock()
		held := c.dropMemoryLocked()
		c.mu.Unlock()
		c.room.unhold(held)
		err = c.backend.Delete()
		c.room.queueClosed()
	})
	return err
}
