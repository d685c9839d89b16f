package nsqd

// In flight and deferred: FIN, REQ and TOUCH from subscribers, and the
// queue scan's timeouts and due deferrals (see channel.go for the
// channel itself and doc.go for the lock order).

import "time"

// removeInFlightLocked looks up id for cl and takes it out of flight.
func (c *Channel) removeInFlightLocked(cl *client, id MessageID) (*Message, error) {
	m, ok := c.inFlight[id]
	if !ok {
		return nil, errNotInFlight
	}
	if m.clientID != cl.id {
		return nil, errNotOwner
	}
	delete(c.inFlight, id)
	c.inFlightPQ.remove(int(m.index))
	return m, nil
}

// finish completes a message: FIN.
func (c *Channel) finish(cl *client, id MessageID) error {
	c.mu.Lock()
	m, err := c.removeInFlightLocked(cl, id)
	if err == nil {
		c.logFinish(m) // under c.mu, so a rewind orders after it
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.room.unhold(recordCost(m))
	now := time.Now()
	c.finLatency.observe(time.Duration(now.UnixNano() - m.deliveryTS))
	if c.e2e != nil {
		c.e2e.Insert(float64(now.UnixNano() - m.Timestamp))
	}
	cl.finishCount.Add(1)
	cl.releaseInFlight(1)
	return nil
}

// requeue puts a message back: now (delay 0) or after delay (REQ).
func (c *Channel) requeue(cl *client, id MessageID, delay time.Duration) error {
	var overflow []*Message
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return errExiting
	}
	m, err := c.removeInFlightLocked(cl, id)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	due := time.Now().UnixNano() + int64(delay)
	if delay > 0 {
		m.deadline = due
		c.addDeferredLocked(m)
	} else if !c.pushLocked(m) {
		overflow = append(overflow, m)
	}
	spill := c.spillLocked()
	c.logRequeue(m, due)
	c.mu.Unlock()
	c.requeueCount.Add(1)
	cl.requeueCount.Add(1)
	cl.releaseInFlight(1)
	c.writeOverflow(overflow, true)
	if spill {
		c.writeSpill()
	}
	return nil
}

// touch extends a message's timeout by the client's msg timeout, never
// beyond its delivery time plus --max-msg-timeout.
func (c *Channel) touch(cl *client, id MessageID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.inFlight[id]
	if !ok {
		return errNotInFlight
	}
	if m.clientID != cl.id {
		return errNotOwner
	}
	deadline := time.Now().Add(cl.msgTimeout())
	if limit := time.Unix(0, m.deliveryTS).Add(c.env.maxMsgTimeout); deadline.After(limit) {
		deadline = limit
	}
	m.deadline = deadline.UnixNano()
	c.inFlightPQ.fix(m)
	return nil
}

// processInFlight requeues messages whose timeout passed; it reports
// whether there were any.
func (c *Channel) processInFlight(now int64) bool {
	return c.releaseDue(now, &c.inFlightPQ, c.inFlight, func(m *Message) {
		c.timeoutCount.Add(1)
		if owner := c.clients[m.clientID]; owner != nil {
			owner.releaseInFlight(1)
		}
	})
}

// processDeferred queues deferred messages whose time has come.
func (c *Channel) processDeferred(now int64) bool {
	return c.releaseDue(now, &c.deferredPQ, c.deferred, nil)
}

// releaseDue moves the messages of pq whose deadline is at or before now
// back onto the queue, calling each (under the lock) for every one.
func (c *Channel) releaseDue(now int64, pq *msgHeap, index map[MessageID]*Message, each func(*Message)) bool {
	var overflow []*Message
	dirty := false
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return false
	}
	for {
		m := pq.peek()
		if m == nil || m.deadline > now {
			break
		}
		dirty = true
		pq.remove(0)
		if index[m.ID] == m {
			delete(index, m.ID)
		}
		if each != nil {
			each(m)
		}
		if !c.pushLocked(m) {
			overflow = append(overflow, m)
		}
	}
	spill := c.spillLocked()
	c.mu.Unlock()
	c.writeOverflow(overflow, true)
	if spill {
		c.writeSpill()
	}
	return dirty
}
