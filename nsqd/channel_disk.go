package nsqd

import (
	"github.com/dropin/nsq/internal/lg"
)

// writeOverflow stores messages that did not fit in memory; fromMemory
// says they were held there before (requeued, released deferrals). What
// the backend refuses stays in memory beyond --mem-queue-size rather than
// being lost: the publish that brought it was acknowledged.
func (c *Channel) writeOverflow(msgs []*Message, fromMemory bool) {
	for i, m := range msgs {
		if err := c.backend.Put(m.encode()); err != nil {
			c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to write message to backend, keeping %d in memory: %s",
				c.topicName, c.name, len(msgs)-i, err)
			c.env.onDiskError(err)
			c.keepInMemory(msgs[i:], fromMemory)
			return
		}
		cost := recordCost(m)
		c.room.wrote(cost)
		if fromMemory {
			c.room.unhold(cost)
		}
		c.env.onDiskOK()
	}
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
	if !held {
		c.room.hold(recordsCost(msgs))
	}
}

// diskPump moves messages from the backend into memory whenever the memory
// queue runs low, so subscribers take batches from one place.
func (c *Channel) diskPump() {
	defer c.pumpDone.Done()
	readCh := c.backend.ReadChan()
	for {
		select {
		case <-c.diskWant:
		case <-c.exitCh:
			return
		}
		for {
			c.mu.Lock()
			low := !c.exiting && c.queue.len() < c.env.lowWater()
			epoch := c.epoch
			c.mu.Unlock()
			if !low {
				break
			}
			var data []byte
			select {
			case data = <-readCh:
			case <-c.exitCh:
				return
			}
			m, err := decodeMessage(data)
			if err != nil {
				c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): dropping unreadable disk record: %s", c.topicName, c.name, err)
				continue
			}
			c.mu.Lock()
			switch {
			case c.exiting:
				c.mu.Unlock()
				// closing: put it back so it survives the restart
				if err := c.backend.Put(data); err != nil {
					c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to return message to backend: %s", c.topicName, c.name, err)
				}
				c.room.wrote(recordCost(m))
				return
			case c.epoch != epoch:
				// emptied while we read it
			default:
				c.queue.pushBack(m)
				c.wakeOneLocked()
				c.room.hold(recordCost(m))
				c.diskReadTS.Store(m.Timestamp)
			}
			c.mu.Unlock()
		}
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
		c.mu.Lock()
		var pending []*Message
		c.queue.drain(func(m *Message) { pending = append(pending, m) })
		for _, m := range c.inFlightPQ {
			pending = append(pending, m)
		}
		for _, m := range c.deferredPQ {
			pending = append(pending, m)
		}
		c.inFlightPQ, c.deferredPQ = nil, nil
		clear(c.inFlight)
		clear(c.deferred)
		c.mu.Unlock()
		if !c.ephemeral && len(pending) > 0 {
			c.env.log.Logf(lg.INFO, "CHANNEL(%s:%s): flushing %d messages to backend", c.topicName, c.name, len(pending))
		}
		for _, m := range pending {
			if e := c.backend.Put(m.encode()); e != nil && err == nil {
				err = e
				c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to flush message: %s", c.topicName, c.name, e)
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
		c.mu.Lock()
		held := c.dropMemoryLocked()
		c.mu.Unlock()
		c.room.unhold(held)
		err = c.backend.Delete()
		c.room.queueClosed()
	})
	return err
}
