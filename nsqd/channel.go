package nsqd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/quantile"
	"github.com/dropin/nsq/internal/storage"
)

var (
	errExiting     = errors.New("exiting")
	errNotInFlight = errors.New("ID not in flight")
	errNotOwner    = errors.New("client does not own message")
)

// Channel is one consumer group of a topic: every message of the topic is
// copied to each channel and delivered to one of its subscribers. It holds
// the in-memory queue, the in-flight and deferred sets, and a backend for
// what overflows memory. Safe for concurrent use.
type Channel struct {
	topicName string
	name      string
	ephemeral bool
	env       *queueEnv
	backend   storage.Backend
	e2e       *quantile.Window // nil when no percentiles are configured
	room      *diskRoom        // nil for an ephemeral channel
	// spillable: the backend is a disk queue, and a backlog on it has a
	// tail in memory (channel_spill.go)
	spillable bool

	// spillMu orders the writes of spill batches; taken before mu
	spillMu sync.Mutex

	mu         sync.Mutex // guards the fields below up to the atomics
	queue      msgDeque
	tail       msgDeque     // behind the disk backlog (channel_spill.go)
	spills     [][]*Message // detached from the tail, not yet written
	spilling   atomic.Int64 // messages in spills; changed under mu, or spillMu once written
	pacers     []*pacer     // publishers waiting for credit (channel_pace.go)
	credit     int          // messages taken towards pacers[0]
	takeRate   rateMeter    // messages taken by subscribers
	putRate    rateMeter    // messages put
	inFlight   map[MessageID]*Message
	inFlightPQ msgHeap
	deferred   map[MessageID]*Message
	deferredPQ msgHeap
	clients    map[int64]*client
	waiters    []*client // subscribers idle until a message arrives
	exiting    bool
	epoch      uint64 // bumped by empty so the disk pump drops a stale read
	// onDisk counts messages given to the backend (or about to be: spills)
	// that the disk pump has not moved back to memory; while it is above
	// zero new messages queue behind them, in the tail. Always 0 for
	// #ephemeral.
	onDisk int64

	paceHint         atomic.Bool  // memory full: pace may have to wait
	lastTake         atomic.Int64 // unix ns of the last take that found messages
	paused           atomic.Bool
	messageCount     atomic.Uint64
	requeueCount     atomic.Uint64
	timeoutCount     atomic.Uint64
	zoneLocalCount   atomic.Uint64
	regionLocalCount atomic.Uint64
	globalCount      atomic.Uint64
	deadCount        atomic.Uint64
	deadCfg          atomic.Pointer[deadLetterConfig] // nil: the daemon's defaults
	deadTarget       *atomic.Bool                     // the topic is a dead-letter topic
	dead             deadLedger
	finLatency       latencyHistogram // delivery to FIN
	diskReadTS       atomic.Int64     // timestamp of the last message the disk pump read
	onLastClientGone func(*Channel)   // ephemeral channels delete themselves
	channelLog                        // --storage=log state (logmode_channel.go)
	diskWant         chan struct{}
	exitCh           chan struct{}
	pumpDone         sync.WaitGroup
	closeOnce        sync.Once
}

func newChannel(topicName, name string, env *queueEnv, deadTarget *atomic.Bool, onLastClientGone func(*Channel), topicPaused *atomic.Bool) *Channel {
	c := &Channel{
		topicName:        topicName,
		deadTarget:       deadTarget,
		name:             name,
		ephemeral:        names.IsEphemeral(name),
		env:              env,
		inFlight:         make(map[MessageID]*Message),
		deferred:         make(map[MessageID]*Message),
		clients:          make(map[int64]*client),
		onLastClientGone: onLastClientGone,
		channelLog:       channelLog{topicPaused: topicPaused},
		diskWant:         make(chan struct{}, 1),
		exitCh:           make(chan struct{}),
	}
	if len(env.e2eQuantiles) > 0 {
		c.e2e = quantile.New(env.e2eWindow, env.e2eQuantiles)
	}
	switch {
	case env.lm.logged(topicName):
		c.startLog(env.lm)
	case c.ephemeral || env.lm != nil:
		c.backend = storage.NewDiscard()
	default:
		c.backend = storage.NewDisk(topicName+":"+name, env.disk)
		c.room = env.room
		c.spillable = true
		c.room.queueOpened()
		c.onDisk = c.backend.Depth()
		if c.backend.Depth() > 0 {
			// read ahead at once, so peek and oldest_msg_age_ms see the
			// head of a backlog left by a restart
			c.diskWant <- struct{}{}
		}
		c.pumpDone.Add(1)
		go c.diskPump()
	}
	return c
}

// Name returns the channel name.
func (c *Channel) Name() string { return c.name }

// putMessages queues msgs (this channel's own copies) for delivery: those
// with a deferral go to the deferred set, the rest to memory while it has
// room (or a subscriber waits) and to the backend otherwise, behind what
// is there already (channel_spill.go). It fails only when the channel is
// exiting: a message the backend cannot take stays in memory.
func (c *Channel) putMessages(msgs []*Message) error {
	var overflow []*Message
	var held int64
	now := time.Now().UnixNano()
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return errExiting
	}
	for _, m := range msgs {
		if m.deferral > 0 {
			m.deadline = now + int64(m.deferral)
			m.deferral = 0
			c.addDeferredLocked(m)
			held += recordCost(m)
			continue
		}
		if c.pushLocked(m) {
			held += recordCost(m)
		} else {
			overflow = append(overflow, m)
		}
	}
	// held before a spill write, which may be another publisher's, unholds
	c.room.hold(held)
	spill := c.spillLocked()
	var claimed []*Message
	if spill {
		claimed = c.claimSpillLocked()
	}
	c.putRate.add(now, len(msgs))
	c.updatePaceHintLocked()
	c.mu.Unlock()
	c.messageCount.Add(uint64(len(msgs)))
	c.writeOverflow(overflow, false)
	if spill {
		c.spillDone(claimed)
	}
	return nil
}

// pushLocked queues m in memory and reports true, or reports false when
// it must go to the backend (the caller writes it there). A durable
// channel always keeps it in memory, in the queue or behind a disk
// backlog in the tail; the caller then calls spillLocked. Other channels
// append it to the memory queue if it has room or a subscriber is
// waiting for it, and wake one waiting subscriber; while older messages
// are in the backend they refuse, so m queues behind them there.
func (c *Channel) pushLocked(m *Message) bool {
	if c.spillable {
		c.pushDurableLocked(m)
		return true
	}
	if c.onDisk > 0 || c.queue.len() >= c.env.memQueueSize && c.queue.len() >= len(c.waiters) {
		if !c.ephemeral {
			c.onDisk++ // the caller writes it to the backend
		}
		return false
	}
	c.queue.pushBack(m)
	c.wakeOneLocked()
	return true
}

func (c *Channel) addDeferredLocked(m *Message) {
	if old, ok := c.deferred[m.ID]; ok {
		// the same message deferred twice (a duplicate from disk): keep one
		c.deferredPQ.remove(int(old.index))
	}
	c.deferred[m.ID] = m
	c.deferredPQ.push(m)
}

// wakeOneLocked hands the next message to one idle subscriber, preferring
// one in nsqd's zone, then region, with the topology experiment on.
// Subscribers that stopped being ready (RDY 0, CLS) leave the list here;
// they register again once a new RDY makes them look for work.
func (c *Channel) wakeOneLocked() {
	if len(c.waiters) == 0 {
		return
	}
	ready := c.waiters[:0]
	for _, w := range c.waiters {
		if w.ready() > 0 {
			ready = append(ready, w)
		} else {
			w.waiting = false
		}
	}
	clear(c.waiters[len(ready):])
	c.waiters = ready
	if len(c.waiters) == 0 {
		return
	}
	i := 0
	if c.env.topologyAware {
		i = c.preferredWaiterLocked()
	}
	w := c.waiters[i]
	last := len(c.waiters) - 1
	copy(c.waiters[i:], c.waiters[i+1:])
	c.waiters[last] = nil
	c.waiters = c.waiters[:last]
	w.waiting = false
	w.wake()
}

func (c *Channel) preferredWaiterLocked() int {
	region := -1
	for i, w := range c.waiters {
		zone, reg := w.topology()
		if c.env.topologyZone != "" && zone == c.env.topologyZone {
			return i
		}
		if region < 0 && c.env.topologyRegion != "" && reg == c.env.topologyRegion {
			region = i
		}
	}
	if region >= 0 {
		return region
	}
	return 0
}

// take moves up to max queued messages in flight to cl and appends them to
// out. If it finds fewer, cl is registered to be woken by the next put.
func (c *Channel) take(cl *client, max int, out []*Message) []*Message {
	c.mu.Lock()
	if _, subscribed := c.clients[cl.id]; !subscribed || c.exiting || c.paused.Load() {
		c.mu.Unlock()
		return out
	}
	now := time.Now()
	deadline := now.UnixNano() + int64(cl.msgTimeout())
	sampleRate := cl.sampleRate()
	limit := c.attemptLimit()
	first := len(out)
	var dropped int64
	var dead []*Message
	for len(out) < max {
		m := c.queue.popFront()
		if m == nil {
			break
		}
		if limit > 0 && m.Attempts >= limit {
			dead = append(dead, m) // its next delivery would be one too many
			continue
		}
		if sampleRate > 0 && rand.IntN(100) > int(sampleRate) {
			dropped += recordCost(m)
			continue // sampled out: dropped for this channel, as NSQ does
		}
		if m.Attempts < 0xffff {
			m.Attempts++
		}
		m.deliveryTS = now.UnixNano()
		m.clientID = cl.id
		m.deadline = deadline
		c.inFlight[m.ID] = m
		c.inFlightPQ.push(m)
		out = append(out, m)
	}
	if len(out) < max && !cl.waiting {
		cl.waiting = true
		c.waiters = append(c.waiters, cl)
	}
	if taken := len(out) - first; taken > 0 {
		c.creditLocked(taken, now.UnixNano())
		c.updatePaceHintLocked()
	}
	low := c.queue.len() < c.env.lowWater()
	c.mu.Unlock()
	c.room.unhold(dropped)
	if len(dead) > 0 {
		c.env.onDeadLetter(c, dead)
	}
	if low && (!c.ephemeral || c.lm != nil) {
		select {
		case c.diskWant <- struct{}{}:
		default:
		}
	}
	c.countDelivery(cl, len(out))
	return out
}

func (c *Channel) countDelivery(cl *client, n int) {
	if n == 0 {
		return
	}
	if c.env.topologyAware {
		zone, region := cl.topology()
		switch {
		case c.env.topologyZone != "" && zone == c.env.topologyZone:
			c.zoneLocalCount.Add(uint64(n))
			return
		case c.env.topologyRegion != "" && region == c.env.topologyRegion:
			c.regionLocalCount.Add(uint64(n))
			return
		}
	}
	c.globalCount.Add(uint64(n))
}

// addClient subscribes cl, enforcing --max-channel-consumers.
func (c *Channel) addClient(cl *client) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return errExiting
	}
	if _, ok := c.clients[cl.id]; ok {
		return nil
	}
	if max := c.env.maxConsumers; max > 0 && len(c.clients) >= max {
		return fmt.Errorf("consumers for %s:%s exceeds limit of %d", c.topicName, c.name, max)
	}
	c.clients[cl.id] = cl
	return nil
}

// removeClient unsubscribes cl; an ephemeral channel left without
// subscribers deletes itself. In-flight messages of cl stay in flight
// until they time out, as in NSQ.
func (c *Channel) removeClient(cl *client) {
	c.mu.Lock()
	if _, ok := c.clients[cl.id]; !ok {
		c.mu.Unlock()
		return
	}
	delete(c.clients, cl.id)
	if cl.waiting {
		for i, w := range c.waiters {
			if w == cl {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		cl.waiting = false
	}
	gone := c.ephemeral && len(c.clients) == 0 && !c.exiting
	c.mu.Unlock()
	if gone && c.onLastClientGone != nil {
		c.onLastClientGone(c)
	}
}

// clientList returns the current subscribers.
func (c *Channel) clientList() []*client {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*client, 0, len(c.clients))
	for _, cl := range c.clients {
		out = append(out, cl)
	}
	return out
}

// wakeAll wakes every subscriber (unpause, new RDY budget after empty).
func (c *Channel) wakeAll() {
	for _, cl := range c.clientList() {
		cl.wake()
	}
}

// Pause stops delivery to subscribers.
func (c *Channel) Pause() {
	c.paused.Store(true)
	c.logPause(true)
}

// Unpause resumes delivery.
func (c *Channel) Unpause() {
	c.paused.Store(false)
	c.logPause(false)
	c.wakeAll()
}

// IsPaused reports whether delivery is paused.
func (c *Channel) IsPaused() bool { return c.paused.Load() }

// Empty drops queued, in-flight and deferred messages and resets every
// subscriber's in-flight count.
func (c *Channel) Empty() error {
	if err := c.logEmpty(); err != nil {
		return err
	}
	c.spillMu.Lock() // no spill write in progress, none starts
	defer c.spillMu.Unlock()
	c.mu.Lock()
	c.epoch++
	held := c.dropMemoryLocked()
	c.releasePacersLocked()
	c.updatePaceHintLocked()
	clients := make([]*client, 0, len(c.clients))
	for _, cl := range c.clients {
		clients = append(clients, cl)
	}
	c.mu.Unlock()
	c.room.unhold(held)
	for _, cl := range clients {
		cl.resetInFlight()
	}
	err := c.backend.Empty()
	c.mu.Lock()
	c.onDisk = c.backend.Depth()
	c.mu.Unlock()
	return err
}

// dropMemoryLocked drops every queued (tail and spills too), in-flight
// and deferred message and returns their record cost. c.mu and c.spillMu
// must be held.
func (c *Channel) dropMemoryLocked() int64 {
	cost := recordsCost(c.takeBacklogLocked(nil))
	c.queue.drain(func(m *Message) { cost += recordCost(m) })
	cost += recordsCost(c.inFlightPQ) + recordsCost(c.deferredPQ)
	c.inFlightPQ, c.deferredPQ = nil, nil
	clear(c.inFlight)
	clear(c.deferred)
	return cost
}

// Depth is the number of queued messages, memory and backend.
func (c *Channel) Depth() int64 {
	c.mu.Lock()
	n := int64(c.memDepthLocked())
	c.mu.Unlock()
	return n + c.backend.Depth()
}

// markExiting stops the channel taking new work and returns its clients.
func (c *Channel) markExiting() []*client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return nil
	}
	c.exiting = true
	c.releasePacersLocked()
	out := make([]*client, 0, len(c.clients))
	for _, cl := range c.clients {
		out = append(out, cl)
	}
	return out
}

// close shuts the channel down keeping its data: queued, in-flight and
