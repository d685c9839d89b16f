package nsqd

import (
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
)

// pump delivers messages and heartbeats until the connection ends.
func (p *protocolV2) pump(c *client) {
	hbTicker, hbC := newTicker(c.heartbeat())
	flushTicker, flushC := newTicker(time.Duration(c.outputTimeoutNs.Load()))
	defer func() {
		stopTicker(hbTicker)
		stopTicker(flushTicker)
	}()
	batch := make([]*Message, 0, 64)
	pending := false // unflushed messages in the buffer
	for {
		if ch := c.sub.Load(); ch != nil {
			if n := c.ready(); n > 0 {
				if n > int64(cap(batch)) {
					n = int64(cap(batch))
				}
				batch = ch.take(c, int(n), batch[:0])
				if len(batch) > 0 {
					if err := p.send(c, batch, &pending); err != nil {
						p.n.logV2(c, lg.ERROR, "write failed: %s", err)
						c.closeConn()
						return
					}
					clear(batch)
					if len(batch) == int(n) {
						continue // maybe more is queued
					}
				}
			}
		}
		if pending {
			// nothing more to hand out right now: send what we have
			if err := p.flush(c, &pending); err != nil {
				c.closeConn()
				return
			}
		}
		// tick only while something is buffered or in flight: an idle
		// connection sleeps until woken
		var tick <-chan time.Time
		if pending || c.inFlightCount.Load() > 0 {
			tick = flushC
		}
		select {
		case <-c.wakeCh:
		case <-tick:
			if err := p.flush(c, &pending); err != nil {
				c.closeConn()
				return
			}
		case <-hbC:
			if err := c.writeFrame(protocol.FrameTypeResponse, protocol.Heartbeat); err != nil {
				c.closeConn()
				return
			}
		case <-c.retuneCh:
			stopTicker(hbTicker)
			stopTicker(flushTicker)
			hbTicker, hbC = newTicker(c.heartbeat())
			flushTicker, flushC = newTicker(time.Duration(c.outputTimeoutNs.Load()))
		case <-c.exitCh:
			return
		}
	}
}

// send writes a batch of message frames into the output buffer. The
// buffer flushes itself when full; the pump flushes the rest once the
// client stops being ready or nothing more is queued.
func (p *protocolV2) send(c *client, batch []*Message, pending *bool) error {
	c.inFlightCount.Add(int64(len(batch)))
	c.messageCount.Add(uint64(len(batch)))
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.renewWriteDeadlineLocked()
	for _, m := range batch {
		if err := m.writeFrame(c.w); err != nil {
			return err
		}
	}
	*pending = true
	return nil
}

func (p *protocolV2) flush(c *client, pending *bool) error {
	if !*pending {
		return nil
	}
	c.writeMu.Lock()
	err := c.flushLocked()
	c.writeMu.Unlock()
	*pending = false
	return err
}

func newTicker(d time.Duration) (*time.Ticker, <-chan time.Time) {
	if d <= 0 {
		return nil, nil
	}
	t := time.NewTicker(d)
	return t, t.C
}

func stopTicker(t *time.Ticker) {
	if t != nil {
		t.Stop()
	}
}
