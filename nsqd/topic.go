package nsqd

import (
	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/logstore"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/storage"
)

// topicHooks tell the daemon about changes it must persist or announce.
type topicHooks struct {
	channelCreated func(t *Topic, c *Channel)
	channelDeleted func(t *Topic, c *Channel)
	// lastChannelGone is called when an ephemeral topic loses its last
	// channel.
	lastChannelGone func(t *Topic)
}

// Topic receives published messages and copies each to every channel. A
// publish fans out straight from the publisher's goroutine; only when the
// topic cannot deliver (no channels yet, paused, not started, or a backlog
// already waiting) are messages kept in the topic's own queue, which a pump
// goroutine drains into the channels once they can take them. Safe for
// concurrent use.
type Topic struct {
	name      string
	ephemeral bool
	env       *queueEnv
	hooks     topicHooks
	backend   storage.Backend
	ids       *guidFactory
	room      *diskRoom // nil for an ephemeral topic

	// mu guards channels, chanList, started and exiting. Publishers hold it
	// for reading, so changes to the channel set, pause state and start are
	// exclusive with a publish in progress.
	mu       sync.RWMutex
	channels map[string]*Channel
	chanList []*Channel // sorted by name; replaced, never modified
	// paceList is chanList for pace, which reads it without t.mu
	paceList atomic.Pointer[[]*Channel]
	started  bool
	exiting  bool

	qmu   sync.Mutex // guards queue, pumping
	queue msgDeque
	// pumping: the pump holds messages taken from the queue or the
	// backend that the channels do not have yet. A publish then queues
	// behind them instead of overtaking them.
	pumping bool

	paused       atomic.Bool
	deadTarget   atomic.Bool // dead letters were sent here: --max-attempts does not apply
	messageCount atomic.Uint64
	messageBytes atomic.Uint64

	pumpWake chan struct{}
	exitCh   chan struct{}
	pumpDone sync.WaitGroup
	stopOnce sync.Once

	// endOnce runs the first of close and delete; a later or concurrent
	// call waits for it and returns its error.
	endOnce sync.Once
	endErr  error
}

func newTopic(name string, env *queueEnv, hooks topicHooks) *Topic {
	t := &Topic{
		name:      name,
		ephemeral: names.IsEphemeral(name),
		env:       env,
		hooks:     hooks,
		ids:       newGUIDFactory(env.nodeID),
		channels:  make(map[string]*Channel),
		pumpWake:  make(chan struct{}, 1),
		exitCh:    make(chan struct{}),
	}
	if t.ephemeral || env.lm != nil {
		t.backend = storage.NewDiscard() // logged topics keep no queue
	} else {
		t.backend = storage.NewDisk(name, env.disk)
		t.room = env.room
		t.room.queueOpened()
	}
	t.deadTarget.Store(isDeadLetterName(name))
	t.pumpDone.Add(1)
	go t.pump()
	return t
}

// Name returns the topic name.
func (t *Topic) Name() string { return t.name }

// start lets the topic deliver. Topics loaded from nsqd.dat start only
// after their channels are recreated, and new ones after the channels
// nsqlookupd knows are created, so no channel misses a message.
func (t *Topic) start() {
	t.mu.Lock()
	t.started = true
	t.mu.Unlock()
	t.signalPump()
}

func (t *Topic) signalPump() {
	select {
	case t.pumpWake <- struct{}{}:
	default:
	}
}

// Publish accepts bodies as new messages; with deferral > 0 each channel
// holds them for that long first (DPUB).
func (t *Topic) Publish(bodies [][]byte, deferral time.Duration) error {
	if t.logged() {
		return t.publishLogged(bodies, deferral)
	}
	block := make([]Message, len(bodies))
	if err := t.ids.fill(block); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	for i, b := range bodies {
		block[i].Body, block[i].Timestamp, block[i].deferral = b, now, deferral
	}
	return t.put(block)
}

// put delivers messages whose IDs are filled in: straight to the channels
// when it can, else into the topic's own queue.
func (t *Topic) put(block []Message) error {
	if t.logged() {
		return t.putLogged(block)
	}
	var size uint64
	var one [1]*Message
	msgs := one[:0]
	if len(block) > 1 {
		msgs = make([]*Message, 0, len(block))
	}
	for i := range block {
		msgs = append(msgs, &block[i])
		size += uint64(len(block[i].Body))
	}
	t.pace(len(msgs))
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.exiting {
		return errExiting
	}
	if t.room != nil {
		// room for a copy per channel (or the topic's own) first, so a
		// refused publish leaves nothing behind
		cost := int64(len(msgs))*(4+msgHeaderLength) + int64(size)
		held, ok, recovered := t.room.reserve(cost * int64(max(1, len(t.chanList))))
		if !ok {
			t.env.onDiskError(errNoSpace)
			return errNoSpace
		}
		if recovered {
			t.env.onDiskOK()
		}
		defer t.room.unhold(held)
	}
	var err error
	if t.canFanOutLocked() && t.backlogEmpty() {
		err = t.fanOutLocked(msgs)
	} else {
		err = t.enqueue(msgs)
		t.signalPump()
	}
	if err != nil {
		return err
	}
	t.messageCount.Add(uint64(len(msgs)))
	t.messageBytes.Add(size)
	return nil
}

// pace waits, holding no lock, while a channel's subscribers drain it
// nearly as fast as it is published to and its memory is full
// (channel_pace.go), at most paceMaxWait in all.
func (t *Topic) pace(n int) {
	list := t.paceList.Load()
	if list == nil {
		return
	}
	var deadline time.Time
	for _, c := range *list {
		if !c.paceHint.Load() {
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(paceMaxWait)
		}
		c.pace(n, deadline)
	}
}

func (t *Topic) canFanOutLocked() bool {
	return t.started && len(t.chanList) > 0 && !t.paused.Load()
}

func (t *Topic) backlogEmpty() bool {
	t.qmu.Lock()
	defer t.qmu.Unlock()
	return !t.pumping && t.queue.len() == 0 && t.backend.Depth() == 0
}

func (t *Topic) setPumping(v bool) {
	t.qmu.Lock()
	t.pumping = v
	t.qmu.Unlock()
}

// fanOutLocked gives every channel its own copy of msgs (sharing bodies).
// t.mu must be held for reading.
func (t *Topic) fanOutLocked(msgs []*Message) error {
	var firstErr error
	// the first channel gets msgs themselves, last: once a channel holds a
	// message its delivery state changes under that channel's lock only
	for i := len(t.chanList) - 1; i >= 0; i-- {
		c := t.chanList[i]
		own := msgs
		if i > 0 {
			own = make([]*Message, len(msgs))
			block := make([]Message, len(msgs))
			for j, m := range msgs {
				block[j] = Message{ID: m.ID, Body: m.Body, Timestamp: m.Timestamp, Attempts: m.Attempts, deferral: m.deferral}
				own[j] = &block[j]
			}
		}
		if err := c.putMessages(own); err != nil && err != errExiting && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// enqueue keeps msgs in the topic until it can deliver: memory first,
// then the backend (where a deferral is lost, as in NSQ). What the backend
// refuses stays in memory: the publish is acknowledged.
func (t *Topic) enqueue(msgs []*Message) error {
	var overflow []*Message
	var held int64
	t.qmu.Lock()
	// while older messages are on disk, new ones go behind them there, so
	// the pump (memory first, then disk) keeps publish order
	toMemory := t.backend.Depth() == 0
	for _, m := range msgs {
		if toMemory && t.queue.len() < t.env.memQueueSize {
			t.queue.pushBack(m)
			held += recordCost(m)
		} else {
			toMemory = false
			overflow = append(overflow, m)
		}
	}
	t.qmu.Unlock()
	t.room.hold(held)
	if len(overflow) == 0 {
		return nil
	}
	if err := putRecords(t.backend, overflow); err != nil {
		t.env.log.Logf(lg.ERROR, "TOPIC(%s): failed to write message to backend, keeping %d in memory: %s",
			t.name, len(overflow), err)
		t.env.onDiskError(err)
		t.qmu.Lock()
		for _, m := range overflow {
			t.queue.pushBack(m)
		}
		t.qmu.Unlock()
		t.room.hold(recordsCost(overflow))
		return nil
	}
	t.room.wrote(recordsCost(overflow))
	t.env.onDiskOK()
	return nil
}

// pump drains the topic's backlog into its channels whenever it can.
func (t *Topic) pump() {
	defer t.pumpDone.Done()
	for {
		select {
		case <-t.pumpWake:
		case <-t.exitCh:
			return
		}
		if !t.drain() {
			return
		}
	}
}

const pumpBatch = 256

// drain delivers the backlog until it is empty or the topic cannot
// deliver. It returns false when the topic is exiting.
func (t *Topic) drain() bool {
	batch := make([]*Message, 0, pumpBatch)
	for {
		t.mu.RLock()
		if t.exiting {
			t.mu.RUnlock()
			return false
		}
		if !t.canFanOutLocked() {
			t.mu.RUnlock()
			return true
		}
		batch = batch[:0]
		t.qmu.Lock()
		for len(batch) < pumpBatch && t.queue.len() > 0 {
			batch = append(batch, t.queue.popFront())
		}
		// from here until the channels have them, publishers queue behind
		t.pumping = true
		t.qmu.Unlock()
		if len(batch) > 0 {
			t.fanOutLocked(batch)
			t.setPumping(false)
			t.mu.RUnlock()
			t.room.unhold(recordsCost(batch)) // the channels hold their copies
			continue
		}
		t.mu.RUnlock()
		// the backend is read only here; a publish that overflows to it
		// signals the pump again
		recs := t.backend.Read(pumpBatch)
		if len(recs) == 0 {
			t.setPumping(false)
			return true
		}
		msgs := decodeBatch(recs, func(err error) {
			t.env.log.Logf(lg.ERROR, "TOPIC(%s): dropping unreadable disk record: %s", t.name, err)
		})
		t.mu.RLock()
		switch {
		case t.exiting:
			t.mu.RUnlock()
			if err := t.backend.PutBatch(recs); err == nil {
				t.room.wrote(recordsCost(msgs))
			}
			t.setPumping(false)
			return false
		case t.canFanOutLocked():
			t.fanOutLocked(msgs)
			t.setPumping(false)
		default:
			t.qmu.Lock()
			for i := len(msgs) - 1; i >= 0; i-- {
				t.queue.pushFront(msgs[i])
			}
			t.pumping = false
			t.qmu.Unlock()
			t.room.hold(recordsCost(msgs))
		}
		t.mu.RUnlock()
	}
}

// GetChannel returns the named channel, creating it if needed.
func (t *Topic) GetChannel(name string) (*Channel, error) { return t.getChannel(name, true) }

// getChannel is GetChannel; with propose false a new logged channel is not
// proposed to the log (a replica of one another group's log holds).
func (t *Topic) getChannel(name string, propose bool) (*Channel, error) {
	t.mu.RLock()
	c, ok := t.channels[name]
	exiting := t.exiting
	t.mu.RUnlock()
	if ok {
		return c, nil
	}
	if exiting {
		return nil, errExiting
	}
	if propose && t.logged() {
		if err := t.env.lm.ensureChannel(t.name, name); err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	if t.exiting {
		t.mu.Unlock()
		return nil, errExiting
	}
	c, ok = t.channels[name]
	if !ok {
		c = newChannel(t.name, name, t.env, &t.deadTarget, t.ephemeralChannelGone, &t.paused)
		t.channels[name] = c
		t.rebuildListLocked()
	}
	t.mu.Unlock()
	if !ok {
		t.env.log.Logf(lg.INFO, "TOPIC(%s): new channel(%s)", t.name, name)
		if t.hooks.channelCreated != nil {
			t.hooks.channelCreated(t, c)
		}
		t.signalPump()
	}
	return c, nil
}

// getExistingChannel returns the named channel if it exists.
func (t *Topic) getExistingChannel(name string) (*Channel, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	c, ok := t.channels[name]
	return c, ok
}

func (t *Topic) rebuildListLocked() {
	list := make([]*Channel, 0, len(t.channels))
	for _, c := range t.channels {
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	t.chanList = list
	t.paceList.Store(&list)
}

// Channels returns the channels sorted by name.
func (t *Topic) Channels() []*Channel {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.chanList
}

func (t *Topic) ephemeralChannelGone(c *Channel) {
	// runs on a client's goroutine; deleting closes nothing it waits for
	go t.DeleteChannel(c.name)
}

// DeleteChannel removes a channel, its data and its subscribers.
func (t *Topic) DeleteChannel(name string) error {
	t.mu.Lock()
	c, ok := t.channels[name]
	if !ok {
		t.mu.Unlock()
		return errChannelNotFound
	}
	delete(t.channels, name)
	t.rebuildListLocked()
	left := len(t.channels)
	t.mu.Unlock()

	t.env.log.Logf(lg.INFO, "TOPIC(%s): deleting channel %s", t.name, name)
	if t.logged() {
		t.env.lm.doAll("delete channel "+t.name+":"+name, func(e *brokerlog.Engine) *logstore.Proposal { return e.DeleteChannel(t.name, name) })
	}
	err := c.delete()
	if t.hooks.channelDeleted != nil {
		t.hooks.channelDeleted(t, c)
	}
	if left == 0 && t.ephemeral && t.hooks.lastChannelGone != nil {
		t.hooks.lastChannelGone(t)
	}
	return err
}

// Pause stops copying messages to channels.
func (t *Topic) Pause() {
	t.mu.Lock()
	t.paused.Store(true)
	t.mu.Unlock()
	if t.logged() {
		t.logPause(true)
	}
}

// Unpause resumes copying.
func (t *Topic) Unpause() {
	t.mu.Lock()
	t.paused.Store(false)
	t.mu.Unlock()
	if t.logged() {
		t.logPause(false)
	}
	t.signalPump()
}

// IsPaused reports whether the topic is paused.
func (t *Topic) IsPaused() bool { return t.paused.Load() }

// Empty drops the messages waiting in the topic itself; channels keep
// theirs.
func (t *Topic) Empty() error {
	if t.logged() {
		return t.logEmpty()
	}
	t.room.unhold(t.dropQueue())
	return t.backend.Empty()
}

// dropQueue empties the topic's memory queue and returns the record cost
// of what it held.
func (t *Topic) dropQueue() int64 {
	var cost int64
	t.qmu.Lock()
	t.queue.drain(func(m *Message) { cost += recordCost(m) })
	t.qmu.Unlock()
	return cost
}

// Depth is the number of messages waiting in the topic.
func (t *Topic) Depth() int64 {
	t.qmu.Lock()
	n := int64(t.queue.len())
	t.qmu.Unlock()
	return n + t.backend.Depth()
}

// markExiting makes publishers fail and stops the pump.
func (t *Topic) markExiting() []*Channel {
	t.mu.Lock()
	t.exiting = true
	list := t.chanList
	t.mu.Unlock()
	t.stopOnce.Do(func() { close(t.exitCh) })
	t.pumpDone.Wait()
	return list
}

// end runs f (closing or deleting) unless the topic already ended.
func (t *Topic) end(f func() error) error {
	t.endOnce.Do(func() { t.endErr = f() })
	return t.endErr
}

// close stops the topic keeping its data on disk.
func (t *Topic) close() error { return t.end(t.closeOnce) }

func (t *Topic) closeOnce() error {
	var firstErr error
	for _, c := range t.markExiting() {
		if err := c.close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	t.qmu.Lock()
	var pending []*Message
	t.queue.drain(func(m *Message) { pending = append(pending, m) })
	t.qmu.Unlock()
	if len(pending) > 0 {
		if err := flushToBackend(t.backend, pending); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	cost := recordsCost(pending)
	t.room.wrote(cost)
	t.room.unhold(cost)
	if err := t.backend.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	t.room.queueClosed()
	return firstErr
}

// delete stops the topic and removes its data and channels.
func (t *Topic) delete() error { return t.end(t.deleteOnce) }

func (t *Topic) deleteOnce() error {
	channels := t.markExiting()
	if t.logged() {
		t.env.lm.doAll("delete topic "+t.name, func(e *brokerlog.Engine) *logstore.Proposal { return e.DeleteTopic(t.name) })
	}
	t.mu.Lock()
	t.channels = map[string]*Channel{}
	t.chanList = nil
	t.paceList.Store(nil)
	t.mu.Unlock()
	for _, c := range channels {
		c.delete()
		if t.hooks.channelDeleted != nil {
			t.hooks.channelDeleted(t, c)
		}
	}
	t.room.unhold(t.dropQueue())
	t.room.queueClosed()
	return t.backend.Delete()
}
