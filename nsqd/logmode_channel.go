package nsqd

import (
	"errors"
	"github.com/dropin/nsq/internal/logstore"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/storage"
)

// A channel of a logged topic is a cursor in the log. Its memory queue is
// a bounded read-ahead window that one goroutine (logPump) fills from a
// brokerlog.Reader; in-flight and deferred messages live in memory as in
// diskqueue mode, and FIN and REQ are recorded in the log (Finish,
// Requeue) riding the next commit. Nothing is written per delivery: after
// a crash everything not finished is delivered again, requeued messages at
// their due time with their attempts, DPUB ones at publish time plus
// deferral.

// channelLog is a Channel's log-mode state.
type channelLog struct {
	lm          *logMode      // nil unless the channel's topic is logged
	topicPaused *atomic.Bool  // the topic's pause flag: no reading while set
	logPos      atomic.Uint64 // the reader's next sequence number
	srcs        []*replSource // with replication: one pump per group (replication_channel.go)
	rewinding   int           // rewinds in progress; guarded by Channel.mu
}

// logReadAhead bounds how many messages the pump keeps queued in memory.
const logReadAhead = 1024

// logRetryInterval is how long the pump waits after a failed log read.
const logRetryInterval = time.Second

// logBackend stands in for the disk queue of a logged channel: it stores
// nothing (the log holds the messages) and reports as its depth what the
// log holds beyond the read-ahead window.
type logBackend struct {
	*storage.Discard
	c *Channel
}

// Empty runs after Channel.Empty dropped memory: the pump reads again.
func (b *logBackend) Empty() error {
	b.c.wantLog()
	return nil
}

func (b *logBackend) Depth() int64 {
	if b.c.srcs != nil {
		return b.c.replDepth()
	}
	// before the pump has a reader (pos 0) everything unfinished is here;
	// finished ranges above the reader (a channel's share of an imported
	// NSQ directory, FINs out of order before a restart) are not depth
	n, _ := b.c.lm.eng.State().Unfinished(b.c.topicName, b.c.name, b.c.logPos.Load())
	return int64(n)
}

// startLog makes c a logged channel and starts its pump. The channel must
// exist in the log (Topic.GetChannel creates it first).
func (c *Channel) startLog(lm *logMode) {
	c.lm = lm
	c.backend = &logBackend{Discard: storage.NewDiscard(), c: c}
	if lm.repl != nil {
		c.startRepl(lm.repl)
		return
	}
	c.pumpDone.Add(1)
	go c.logPump()
}

// wantLog wakes the pump (the queue ran low, unpause, empty).
func (c *Channel) wantLog() {
	select {
	case c.diskWant <- struct{}{}:
	default:
	}
}

func (c *Channel) readAhead() int {
	return max(1, min(c.env.memQueueSize, logReadAhead))
}

// logPump keeps the memory queue filled from the log while the topic is
// not paused, and sleeps until the topic has news when caught up.
func (c *Channel) logPump() {
	defer c.pumpDone.Done()
	if !c.loadRequeued(c.lm.eng, nil) {
		return
	}
	r, err := c.lm.eng.NewReader(c.topicName, c.name, brokerlog.ReaderOptions{})
	if err != nil {
		c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): cannot read the log: %s", c.topicName, c.name, err)
		return
	}
	c.mu.Lock()
	readerEpoch := c.epoch
	c.mu.Unlock()
	c.logPos.Store(r.Position())
	limit := c.readAhead()
	for {
		c.mu.Lock()
		room, epoch, exiting := limit-c.queue.len(), c.epoch, c.exiting
		c.mu.Unlock()
		if exiting {
			return
		}
		if epoch != readerEpoch {
			// emptied (or rewound): what was read may have been dropped,
			// so read again from the channel's floor
			if r, err = c.lm.eng.NewReader(c.topicName, c.name, brokerlog.ReaderOptions{}); err != nil {
				return // deleted
			}
			readerEpoch = epoch
		}
		if room <= 0 || (c.topicPaused != nil && c.topicPaused.Load()) {
			select {
			case <-c.diskWant:
			case <-c.exitCh:
				return
			}
			continue
		}
		ds, err := r.Next(room)
		c.logPos.Store(r.Position())
		if errors.Is(err, brokerlog.ErrGone) {
			return // deleted; delete stops the channel
		}
		if err != nil {
			c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): log read failed, retrying: %s", c.topicName, c.name, err)
			if !c.sleep(logRetryInterval) {
				return
			}
			continue
		}
		if len(ds) == 0 {
			select {
			case <-r.Wait():
			case <-c.diskWant:
			case <-c.exitCh:
				return
			}
			continue
		}
		c.pushLog(ds, epoch, nil)
	}
}

// engOf returns the log m came from.
func (c *Channel) engOf(m *Message) *brokerlog.Engine {
	if m.src != nil {
		return m.src
	}
	return c.lm.eng
}

func (c *Channel) logFinish(m *Message) {
	if c.lm != nil {
		c.engOf(m).Finish(c.topicName, c.name, m.seq)
	}
}

func (c *Channel) logRequeue(m *Message, due int64) {
	if c.lm != nil {
		c.engOf(m).Requeue(c.topicName, c.name, m.seq, due, m.Attempts)
	}
}

func (c *Channel) logPause(paused bool) {
	switch {
	case c.lm == nil:
	case paused:
		c.lm.doAll("pause channel "+c.topicName+":"+c.name, func(e *brokerlog.Engine) *logstore.Proposal { return e.PauseChannel(c.topicName, c.name) })
	default:
		c.lm.doAll("unpause channel "+c.topicName+":"+c.name, func(e *brokerlog.Engine) *logstore.Proposal { return e.UnpauseChannel(c.topicName, c.name) })
	}
}

// logEmpty empties the channel's cursor (everything published so far is
// finished); Channel.Empty then drops memory and the pump reads anew.
func (c *Channel) logEmpty() error {
	if c.lm == nil {
		return nil
	}
	return c.lm.doAll("empty channel "+c.topicName+":"+c.name, func(e *brokerlog.Engine) *logstore.Proposal { return e.EmptyChannel(c.topicName, c.name) })
}

// sleep waits d or until the channel exits; false if it exits.
func (c *Channel) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.exitCh:
		return false
	}
}

// pushLog queues messages read from the log src (nil: the node's own),
// or defers those not yet due (DPUB). A window read before an empty (epoch
// changed) is dropped; so is, with replication, a message this channel
// already holds in flight or deferred (a group's earlier reign here).
func (c *Channel) pushLog(ds []brokerlog.Delivery, epoch uint64, src *brokerlog.Engine) {
	block := make([]Message, len(ds))
	for i := range ds {
		d, m := &ds[i], &block[i]
		m.ID, m.Body, m.Timestamp, m.Attempts, m.seq = d.ID, d.Body, d.Timestamp, d.Attempts, d.Seq
		m.deadline, m.src = d.Due(), src
	}
	now := time.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting || c.epoch != epoch || c.rewinding > 0 {
		return
	}
	for i := range block {
		m := &block[i]
		if src != nil && c.holdsLocked(m.ID) {
			continue
		}
		if m.deadline > now {
			c.addDeferredLocked(m)
			continue
		}
		c.queue.pushBack(m)
		c.wakeOneLocked()
	}
	c.messageCount.Add(uint64(len(block)))
}

// loadRequeued puts the messages the log lists as requeued (by REQ before
// a restart) into the deferred set at their due time; the queue scan
// releases those already due. It returns false if the channel is gone.
func (c *Channel) loadRequeued(eng, src *brokerlog.Engine) bool {
	ci, ok := eng.State().Channel(c.topicName, c.name)
	if !ok {
		return false
	}
	if len(ci.Requeued) == 0 {
		return true
	}
	seqs := make([]uint64, len(ci.Requeued))
	for i, r := range ci.Requeued {
		seqs[i] = r.Seq
	}
	ds, err := eng.ReadSeqs(c.topicName, seqs)
	if err != nil {
		c.env.log.Logf(lg.ERROR, "CHANNEL(%s:%s): cannot read requeued messages: %s", c.topicName, c.name, err)
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j := 0
	for _, d := range ds {
		for j < len(ci.Requeued) && ci.Requeued[j].Seq < d.Seq {
			j++
		}
		if j == len(ci.Requeued) {
			break
		}
		r := ci.Requeued[j]
		m := &Message{ID: d.ID, Body: d.Body, Timestamp: d.Timestamp, Attempts: r.Attempts, seq: d.Seq, deadline: r.Due, src: src}
		if src != nil && c.holdsLocked(m.ID) {
			continue
		}
		c.addDeferredLocked(m)
	}
	c.env.log.Logf(lg.INFO, "CHANNEL(%s:%s): %d requeued messages from the log", c.topicName, c.name, len(ds))
	return true
}

// logCloseLocked records, on a clean stop, the attempts of the messages in
// flight, so the restart delivers them with their count (after a crash
// they restart from their last REQ). c.mu must be held.
func (c *Channel) logCloseLocked() {
	for _, m := range c.inFlightPQ {
		c.engOf(m).Delivered(c.topicName, c.name, m.seq, m.Attempts)
	}
}
