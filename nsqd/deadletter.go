package nsqd

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
)

// deadSuffix names a topic's default dead-letter topic: <topic>.dead.
const deadSuffix = ".dead"

// deadRetryDelay is how long a dead letter that could not be published to
// its dead-letter topic (full disk, topic being deleted) waits in the
// channel's deferred set before it is tried again.
const deadRetryDelay = time.Second

// Bounds of a channel's dead-letter ledger: the most recent records are
// kept, the oldest dropped first.
const (
	ledgerMaxRecords = 1000
	ledgerMaxBytes   = 8 << 20
)

// defaultDeadLetterTopic is <topic>.dead, keeping an #ephemeral suffix at
// the end and cutting the base so the name stays within 64 bytes.
func defaultDeadLetterTopic(topic string) string {
	base, suffix := topic, ""
	if names.IsEphemeral(topic) {
		base, suffix = strings.TrimSuffix(topic, names.EphemeralSuffix), names.EphemeralSuffix
	}
	if max := names.MaxLength - len(deadSuffix) - len(suffix); len(base) > max {
		base = base[:max]
	}
	return base + deadSuffix + suffix
}

// isDeadLetterName reports whether topic looks like a default dead-letter
// topic (<name>.dead, optionally #ephemeral).
func isDeadLetterName(topic string) bool {
	return strings.HasSuffix(strings.TrimSuffix(topic, names.EphemeralSuffix), deadSuffix)
}

var (
	errDeadTopicInvalid = errors.New("dead-letter topic is not a valid topic name")
	errDeadTopicLoop    = errors.New("dead-letter topic is the channel's own topic")
)

// checkDeadLetterTopic validates a channel's dead-letter topic ("" is the
// default): a valid topic name other than the channel's own topic.
func checkDeadLetterTopic(topic, dead string) error {
	switch {
	case dead == "":
		return nil
	case !names.IsValidTopicName(dead):
		return errDeadTopicInvalid
	case dead == topic:
		return errDeadTopicLoop
	}
	return nil
}

// deadLetterConfig is a channel's own dead-letter setting, set by POST
// /channel/config and kept in nsqd.dat. Immutable once stored.
type deadLetterConfig struct {
	maxAttempts uint16 // 0: the daemon's --max-attempts
	topic       string // "": <topic>.dead
}

// attemptLimit is the number of deliveries after which a message becomes a
// dead letter, 0 for unlimited. The daemon-wide --max-attempts does not
// apply to dead-letter topics: their messages arrive with the attempts
// already made elsewhere.
func (c *Channel) attemptLimit() uint16 {
	if cfg := c.deadCfg.Load(); cfg != nil && cfg.maxAttempts > 0 {
		return cfg.maxAttempts
	}
	if c.deadTarget != nil && c.deadTarget.Load() {
		return 0
	}
	return c.env.maxAttempts
}

// channelMaxAttempts is the channel's own setting (0 = the daemon's).
func (c *Channel) channelMaxAttempts() uint16 {
	if cfg := c.deadCfg.Load(); cfg != nil {
		return cfg.maxAttempts
	}
	return 0
}

// deadLetterTopic is where the channel's dead letters go.
func (c *Channel) deadLetterTopic() string {
	if cfg := c.deadCfg.Load(); cfg != nil && cfg.topic != "" {
		return cfg.topic
	}
	return defaultDeadLetterTopic(c.topicName)
}

// configuredDeadLetterTopic is the channel's own setting ("" = default).
func (c *Channel) configuredDeadLetterTopic() string {
	if cfg := c.deadCfg.Load(); cfg != nil {
		return cfg.topic
	}
	return ""
}

// setDeadLetterConfig replaces the channel's setting.
func (c *Channel) setDeadLetterConfig(maxAttempts uint16, topic string) {
	if maxAttempts == 0 && topic == "" {
		c.deadCfg.Store(nil)
		return
	}
	c.deadCfg.Store(&deadLetterConfig{maxAttempts: maxAttempts, topic: topic})
}

// retryDeadLater holds dead letters that could not be published in the
// deferred set for deadRetryDelay; on a closing channel they go back to
// the queue, which close writes to disk.
func (c *Channel) retryDeadLater(msgs []*Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(deadRetryDelay).UnixNano()
	for _, m := range msgs {
		if c.exiting {
			c.queue.pushBack(m)
			continue
		}
		m.deadline = deadline
		c.addDeferredLocked(m)
	}
}

// DeadLetter is one record of a channel's dead-letter ledger: a message
// that reached the channel's attempt limit and went to the dead-letter
// topic, as listed by GET /channel/dead.
type DeadLetter struct {
	ID              string `json:"id"` // the message's ID in the dead-letter topic
	OriginalID      string `json:"original_id"`
	Topic           string `json:"topic"`
	Channel         string `json:"channel"`
	DeadLetterTopic string `json:"dead_letter_topic"`
	Attempts        uint16 `json:"attempts"`
	Timestamp       int64  `json:"timestamp"` // first publish, ns since the epoch
	DeadAt          int64  `json:"dead_at"`   // ns since the epoch
	Body            []byte `json:"body"`      // base64 in JSON
	Preview         string `json:"preview"`
}

// deadLedger keeps a channel's most recent dead letters, so an operator
// can read their origin and replay them. Safe for concurrent use; mu is a
// leaf lock.
type deadLedger struct {
	mu      sync.Mutex // guards records, bytes
	records []DeadLetter
	bytes   int
}

func (l *deadLedger) add(recs []DeadLetter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		l.records = append(l.records, r)
		l.bytes += len(r.Body)
	}
	drop := 0
	for len(l.records)-drop > ledgerMaxRecords || (l.bytes > ledgerMaxBytes && len(l.records)-drop > 1) {
		l.bytes -= len(l.records[drop].Body)
		drop++
	}
	if drop > 0 {
		l.records = append(l.records[:0:0], l.records[drop:]...)
	}
}

// list returns a copy of up to n records, oldest first (all with n <= 0).
func (l *deadLedger) list(n int) []DeadLetter {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.records
	if n > 0 && len(recs) > n {
		recs = recs[:n]
	}
	return append([]DeadLetter{}, recs...)
}

// len is the number of records.
func (l *deadLedger) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.records)
}

// take removes and returns the records with the given IDs (all of them
// with ids nil). It removes nothing and reports the first unknown ID if
// any is missing.
func (l *deadLedger) take(ids []string) ([]DeadLetter, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ids == nil {
		out := l.records
		l.records, l.bytes = nil, 0
		return out, ""
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	found := 0
	for _, r := range l.records {
		if want[r.ID] {
			found++
			want[r.ID] = false
		}
	}
	if found != len(want) {
		for _, id := range ids {
			if want[id] {
				return nil, id
			}
		}
	}
	var out []DeadLetter
	keep := l.records[:0:0]
	l.bytes = 0
	for _, r := range l.records {
		if _, ok := want[r.ID]; ok {
			out = append(out, r)
			continue
		}
		keep = append(keep, r)
		l.bytes += len(r.Body)
	}
	l.records = keep
	return out, ""
}

// putBack returns records taken for a replay that failed.
func (l *deadLedger) putBack(recs []DeadLetter) {
	l.mu.Lock()
	l.records = append(append([]DeadLetter{}, recs...), l.records...)
	for _, r := range recs {
		l.bytes += len(r.Body)
	}
	l.mu.Unlock()
}

// deadLetter publishes msgs, taken off c's queue because they reached the
// attempt limit, to c's dead-letter topic with fresh IDs (never the
// original's, see freshIDs), body, timestamp and attempts unchanged, and records
// them in c's ledger. It runs with no lock held (lock order NSQD, Topic,
// Channel). Messages that cannot be published wait in c's deferred set
// and are tried again.
func (n *NSQD) deadLetter(c *Channel, msgs []*Message) {
	name := c.deadLetterTopic()
	t, err := n.GetTopic(name)
	var block []Message
	if err == nil {
		if !t.deadTarget.Swap(true) && !t.ephemeral {
			n.markMetadataDirty()
		}
		block = make([]Message, len(msgs))
		if err = freshIDs(t.ids, block, msgs); err == nil {
			for i, m := range msgs {
				block[i].Body, block[i].Timestamp, block[i].Attempts = m.Body, m.Timestamp, m.Attempts
			}
			ids := make([]MessageID, len(block))
			for i := range block {
				ids[i] = block[i].ID // put hands block to the channels
			}
			if err = t.put(block); err == nil {
				c.recordDead(msgs, ids, name)
				return
			}
		}
	}
	n.log.Logf(lg.ERROR, "CHANNEL(%s:%s): failed to publish %d dead letters to %s, retrying in %s - %s",
		c.topicName, c.name, len(msgs), name, deadRetryDelay, err)
	c.retryDeadLater(msgs)
}

// freshIDs gives block IDs from f (the dead-letter topic's factory), none
// equal to the ID of the message at the same index of orig: each topic has
// its own factory, so within one time unit the dead-letter topic's first ID
// is the very ID the original topic gave its first message.
func freshIDs(f *guidFactory, block []Message, orig []*Message) error {
	if err := f.fill(block); err != nil {
		return err
	}
	for i, m := range orig {
		for block[i].ID == m.ID { // the next one from f differs
			if err := f.fill(block[i : i+1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordDead counts and records dead letters published as ids.
func (c *Channel) recordDead(msgs []*Message, ids []MessageID, deadTopic string) {
	now := time.Now().UnixNano()
	recs := make([]DeadLetter, len(msgs))
	for i, m := range msgs {
		recs[i] = DeadLetter{
			ID: string(ids[i][:]), OriginalID: string(m.ID[:]),
			Topic: c.topicName, Channel: c.name, DeadLetterTopic: deadTopic,
			Attempts: m.Attempts, Timestamp: m.Timestamp, DeadAt: now, Body: m.Body,
		}
	}
	c.dead.add(recs)
	for _, m := range msgs {
		c.logFinish(m) // moved: the dead-letter topic holds it now
	}
	c.deadCount.Add(uint64(len(msgs)))
	c.room.unhold(recordsCost(msgs))
	c.env.log.Logf(lg.WARN, "CHANNEL(%s:%s): %d messages reached %d attempts, moved to topic %s",
		c.topicName, c.name, len(msgs), msgs[0].Attempts, deadTopic)
}
