package nsqd

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/replgroup"
)

// With replication a channel has one pump per group of this node. A pump
// reads its group's log only while this node leads the group (a "reign"),
// from the channel's replicated floor, skipping what the log lists as
// finished: so a new leader delivers everything not finished (at least
// once). When the reign ends, the messages of that group still queued or
// deferred here are dropped (the new leader delivers them); messages in
// flight stay, and their FIN/REQ records are forwarded to the leader.

// replSource is one group's pump state of a channel.
type replSource struct {
	m       *replgroup.Member
	pos     atomic.Uint64 // the reader's next sequence number; 0 while not reigning
	reading atomic.Bool
}

// startRepl starts a pump per group.
func (c *Channel) startRepl(rs *replSet) {
	c.srcs = make([]*replSource, len(rs.members))
	for i, m := range rs.members {
		src := &replSource{m: m}
		c.srcs[i] = src
		c.pumpDone.Add(1)
		go c.replPump(src)
	}
}

// replPump waits for this node to lead its group and the channel to exist
// in the group's log, then reads; once the reign ends it drops what it
// queued and waits again.
func (c *Channel) replPump(src *replSource) {
	defer c.pumpDone.Done()
	eng := src.m.Engine()
	for {
		for !src.m.IsLeader() || !c.existsIn(eng) {
			if !c.sleep(replWatchInterval) {
				return
			}
		}
		src.reading.Store(true)
		more := c.reign(src, eng)
		src.reading.Store(false)
		c.dropFrom(eng)
		if !more {
			return
		}
	}
}

func (c *Channel) existsIn(eng *brokerlog.Engine) bool {
	_, ok := eng.State().Channel(c.topicName, c.name)
	return ok
}

// reign reads eng's log into memory while this node leads the group. It
// returns false once the channel exits.
func (c *Channel) reign(src *replSource, eng *brokerlog.Engine) bool {
	if !c.loadRequeued(eng, eng) {
		return true // gone from this group's log
	}
	r, err := eng.NewReader(c.topicName, c.name, brokerlog.ReaderOptions{})
	if err != nil {
		return true
	}
	c.env.log.Logf(lg.INFO, "CHANNEL(%s:%s): delivering group %d from %d", c.topicName, c.name, src.m.Group(), r.Position())
	c.mu.Lock()
	readerEpoch := c.epoch
	c.mu.Unlock()
	src.pos.Store(r.Position())
	limit := c.readAhead()
	check := time.NewTicker(replWatchInterval)
	defer check.Stop()
	for src.m.IsLeader() {
		c.mu.Lock()
		room, epoch, exiting := limit-c.queue.len(), c.epoch, c.exiting
		c.mu.Unlock()
		if exiting {
			return false
		}
		if epoch != readerEpoch {
			if r, err = eng.NewReader(c.topicName, c.name, brokerlog.ReaderOptions{}); err != nil {
				return true
			}
			readerEpoch = epoch
		}
		if room <= 0 || (c.topicPaused != nil && c.topicPaused.Load()) {
			select {
			case <-c.diskWant:
			case <-check.C:
			case <-c.exitCh:
				return false
			}
			continue
		}
		ds, err := r.Next(room)
		src.pos.Store(r.Position())
		if errors.Is(err, brokerlog.ErrGone) {
			return true
		}
		if err != nil {
			c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): group %d log read failed, retrying: %s", c.topicName, c.name, src.m.Group(), err)
			if !c.sleep(logRetryInterval) {
				return false
			}
			continue
		}
		if len(ds) == 0 {
			select {
			case <-r.Wait():
			case <-c.diskWant:
			case <-check.C:
			case <-c.exitCh:
				return false
			}
			continue
		}
		c.pushLog(ds, epoch, eng)
	}
	c.env.log.Logf(lg.INFO, "CHANNEL(%s:%s): no longer leading group %d", c.topicName, c.name, src.m.Group())
	return true
}

// holdsLocked tells whether a message of this ID is in flight or deferred
// here. c.mu must be held.
func (c *Channel) holdsLocked(id MessageID) bool {
	_, inFlight := c.inFlight[id]
	_, deferred := c.deferred[id]
	return inFlight || deferred
}

// dropFrom removes the queued and deferred messages read from eng (a
// reign ended: the group's new leader delivers them).
func (c *Channel) dropFrom(eng *brokerlog.Engine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var kept []*Message
	c.queue.drain(func(m *Message) {
		if m.src != eng {
			kept = append(kept, m)
		}
	})
	for _, m := range kept {
		c.queue.pushBack(m)
	}
	for id, m := range c.deferred {
		if m.src == eng {
			c.deferredPQ.remove(int(m.index))
			delete(c.deferred, id)
		}
	}
}

// replDepth is what the led groups' logs hold for this channel beyond
// what was read into memory.
func (c *Channel) replDepth() int64 {
	var depth int64
	for _, src := range c.srcs {
		pos := src.pos.Load()
		if !src.reading.Load() || pos == 0 {
			continue
		}
		if ti, ok := src.m.Engine().State().Topic(c.topicName); ok && ti.NextSeq > pos {
			depth += int64(ti.NextSeq - pos)
		}
	}
	return depth
}
