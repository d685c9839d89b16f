package nsqd

import (
	"time"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/logstore"
)

// A logged topic (--storage=log, name not ephemeral) appends each publish
// to the log once; its channels read it from there (logmode_channel.go),
// so the topic keeps no queue of its own.

func (t *Topic) logged() bool { return t.env.lm.logged(t.name) }

// publishLogged is Publish for a logged topic: with --sync-ack it returns
// once the messages are durable, else as soon as they are proposed (a
// committer already known to have failed still refuses).
func (t *Topic) publishLogged(bodies [][]byte, deferral time.Duration) error {
	p, err := t.publishLog(bodies, deferral)
	if err != nil {
		return err
	}
	if t.env.lm.syncAck {
		if err := p.Wait(); err != nil {
			return wrapPubFailed(err)
		}
		return nil
	}
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			return wrapPubFailed(err)
		}
	default:
	}
	return nil
}

// publishLog proposes bodies as new messages of the topic: this node picks
// IDs, the timestamp and the deferral. The proposal is done once they are
// durable. Bodies must not change afterwards.
func (t *Topic) publishLog(bodies [][]byte, deferral time.Duration) (*logstore.Proposal, error) {
	ids := make([]Message, len(bodies))
	if err := t.ids.fill(ids); err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	msgs := make([]brokerlog.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = brokerlog.Message{ID: ids[i].ID, Timestamp: now, Deferral: int64(deferral), Body: b}
	}
	return t.proposeLog(msgs)
}

// putLogged is put for a logged topic (dead letters moved here): it
// returns once the messages are durable, so the caller may then finish
// the originals.
func (t *Topic) putLogged(block []Message) error {
	msgs := make([]brokerlog.Message, len(block))
	for i := range block {
		m := &block[i]
		msgs[i] = brokerlog.Message{ID: m.ID, Timestamp: m.Timestamp, Deferral: int64(m.deferral), Attempts: m.Attempts, Body: m.Body}
	}
	p, err := t.proposeLog(msgs)
	if err != nil {
		return err
	}
	if err := p.Wait(); err != nil {
		return wrapPubFailed(err)
	}
	return nil
}

func (t *Topic) proposeLog(msgs []brokerlog.Message) (*logstore.Proposal, error) {
	var size uint64
	for i := range msgs {
		size += uint64(len(msgs[i].Body))
	}
	// held for reading across the proposal, so a delete (which marks the
	// topic exiting under the write lock first) is proposed after it
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.exiting {
		return nil, errExiting
	}
	// a publish the file system has no room for is refused before it is
	// proposed (in every mode: an OK without --sync-ack is never followed
	// by a write that fails for want of space, short of a race with
	// another writer of the disk); a failed write is the second line
	cost := int64(len(msgs))*logRecordOverhead + int64(size)
	held, ok, recovered := t.env.room.reserve(cost)
	if !ok {
		t.env.onDiskError(errNoSpace)
		return nil, errNoSpace
	}
	if recovered && t.env.lm.eng.Healthy() == nil {
		t.env.onDiskOK()
	}
	defer t.env.room.unhold(held)
	t.env.room.wrote(cost)
	p := t.env.lm.eng.Publish(t.name, msgs)
	t.messageCount.Add(uint64(len(msgs)))
	t.messageBytes.Add(size)
	return p, nil
}

// logRecordOverhead is a generous bound of a message's bytes in the log
// beyond its body (ID, timestamp, deferral, attempts, framing).
const logRecordOverhead = 64

func wrapPubFailed(err error) error {
	return &pubFailedError{err}
}

// pubFailedError is a publish the log could not make durable; errors.Is
// matches errPubFailed.
type pubFailedError struct{ cause error }

func (e *pubFailedError) Error() string        { return errPubFailed.Error() + ": " + e.cause.Error() }
func (e *pubFailedError) Is(target error) bool { return target == errPubFailed }
func (e *pubFailedError) Unwrap() error        { return e.cause }

// logPause records a pause or unpause of a logged topic; unpausing wakes
// the channels' log readers.
func (t *Topic) logPause(paused bool) {
	if paused {
		t.env.lm.doAll("pause topic "+t.name, func(e *brokerlog.Engine) *logstore.Proposal { return e.PauseTopic(t.name) })
		return
	}
	t.env.lm.doAll("unpause topic "+t.name, func(e *brokerlog.Engine) *logstore.Proposal { return e.UnpauseTopic(t.name) })
	for _, c := range t.Channels() {
		c.wantLog()
	}
}

// logEmpty empties what a logged topic holds for its first channel. As in
// NSQ, messages already given to channels stay: with channels the topic
// holds nothing.
func (t *Topic) logEmpty() error {
	if len(t.Channels()) > 0 {
		return nil
	}
	return t.env.lm.doAll("empty topic "+t.name, func(e *brokerlog.Engine) *logstore.Proposal { return e.EmptyTopic(t.name) })
}
