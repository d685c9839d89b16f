package nsqd

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/protocol"
)

// With --sync-ack a TCP publish is answered only once its messages are
// fsynced. The reader goroutine does not wait: it queues the pending
// answer in the client's ackQueue and reads on, and the queue's goroutine
// writes answers in command order as their commits complete. While answers
// are pending, every other response and error of the connection queues
// behind them (clients match responses first in, first out). A full queue
// blocks the reader: back-pressure on a client that pipelines faster than
// the disk commits.

// ackQueueSize bounds the answers a connection may have pending.
const ackQueueSize = 256

// pendingAck is a publish waiting for its commit.
type pendingAck struct {
	prop      *logstore.Proposal
	cmd, code string // for the error: "PUB", E_PUB_FAILED
}

// ackItem is one queued answer: a publish's commit, or a frame to write.
type ackItem struct {
	pub       *pendingAck
	frameType int32
	data      []byte
	fatal     bool // an error frame after which the connection closes
}

// ackQueue is a connection's ordered answers. push is called by the
// reader goroutine only; loop runs on the queue's own goroutine, which
// close waits for.
type ackQueue struct {
	ch      chan ackItem
	pending atomic.Int64 // pushed, not yet written
	done    sync.WaitGroup
}

// publishTCP publishes for a TCP client. On a logged topic with
// --sync-ack the answer is left pending in c.ackWait for the reader loop
// to queue; otherwise it is the publish's own result.
func (p *protocolV2) publishTCP(c *client, t *Topic, cmd, code string, bodies [][]byte, deferral time.Duration) error {
	if !t.logged() || !t.env.lm.syncAck {
		return t.Publish(bodies, deferral)
	}
	prop, err := t.publishLog(bodies, deferral)
	if err != nil {
		return err
	}
	c.ackWait = &pendingAck{prop: prop, cmd: cmd, code: code}
	return nil
}

// queueResponse queues the outcome of a command behind pending answers.
// It reports false when nothing is pending, and the caller answers
// directly as usual; stop is the fatal error that ends the reader.
func (p *protocolV2) queueResponse(c *client, resp []byte, err error) (queued bool, stop error) {
	wait := c.ackWait
	if wait == nil && (c.acks == nil || c.acks.pending.Load() == 0) {
		return false, nil
	}
	c.ackWait = nil
	if c.acks == nil {
		c.acks = newAckQueue(p.n, c)
	}
	switch {
	case err != nil:
		var perr *protocol.Error
		if !errors.As(err, &perr) {
			perr = protocol.NewFatal(protocol.ErrInvalid, err.Error())
		}
		p.n.logV2(c, lg.ERROR, "%s", perr)
		c.acks.push(ackItem{frameType: protocol.FrameTypeError, data: []byte(perr.Error()), fatal: perr.Fatal})
		if perr.Fatal {
			return true, perr
		}
	case wait != nil:
		c.acks.push(ackItem{pub: wait, frameType: protocol.FrameTypeResponse, data: resp})
	case resp != nil:
		c.acks.push(ackItem{frameType: protocol.FrameTypeResponse, data: resp})
	}
	return true, nil
}

func newAckQueue(n *NSQD, c *client) *ackQueue {
	q := &ackQueue{ch: make(chan ackItem, ackQueueSize)}
	q.done.Add(1)
	go q.loop(n, c)
	return q
}

func (q *ackQueue) push(it ackItem) {
	q.pending.Add(1)
	q.ch <- it
}

// close waits until every queued answer is written (or the connection
// failed). Called by the reader goroutine once it stops reading.
func (q *ackQueue) close() {
	close(q.ch)
	q.done.Wait()
}

// loop writes the answers in order, waiting for each publish's commit,
// and flushes whenever nothing more is queued. A failed commit gets the
// command's error frame and closes the connection, as a failed publish
// does in diskqueue mode.
func (q *ackQueue) loop(n *NSQD, c *client) {
	defer q.done.Done()
	broken := false
	for it := range q.ch {
		if !broken {
			broken = !q.answer(n, c, it)
		}
		q.pending.Add(-1)
		if !broken && len(q.ch) == 0 {
			if err := c.flush(); err != nil {
				broken = true
			}
		}
		if broken {
			c.closeConn()
		}
	}
}

// answer writes one item; false means the connection is finished.
func (q *ackQueue) answer(n *NSQD, c *client, it ackItem) bool {
	if it.pub != nil {
		if err := it.pub.prop.Wait(); err != nil {
			perr := protocol.NewFatal(it.pub.code, fmt.Sprintf("%s failed %s", it.pub.cmd, wrapPubFailed(err)))
			n.logV2(c, lg.ERROR, "%s", perr)
			c.writeFrame(protocol.FrameTypeError, []byte(perr.Error()))
			return false
		}
	}
	if err := c.writeFrameNoFlush(it.frameType, it.data); err != nil {
		return false
	}
	if it.fatal {
		c.flush()
		return false
	}
	return true
}

// drainAcks ends the connection's ack queue, if it has one.
func (c *client) drainAcks() {
	if c.acks != nil {
		c.acks.close()
	}
}
