package brokerlog

import (
	"errors"
	"fmt"

	"github.com/dropin/nsq/internal/logstore"
)

// Entry kinds of the broker. Values are part of the file format: never
// renumber, only add.
const (
	KindPublish        logstore.Kind = 1
	KindTopicCreate    logstore.Kind = 2
	KindTopicDelete    logstore.Kind = 3
	KindTopicPause     logstore.Kind = 4
	KindTopicUnpause   logstore.Kind = 5
	KindTopicEmpty     logstore.Kind = 6
	KindChannelCreate  logstore.Kind = 7
	KindChannelDelete  logstore.Kind = 8
	KindChannelPause   logstore.Kind = 9
	KindChannelUnpause logstore.Kind = 10
	KindChannelEmpty   logstore.Kind = 11
	KindChannelRewind  logstore.Kind = 12
	KindChannelState   logstore.Kind = 13
)

// Message is one published message as the proposer fixed it: apply reads
// these values and never a clock.
type Message struct {
	ID        [16]byte
	Timestamp int64 // unix nanoseconds, set by the node that accepted the publish
	Deferral  int64 // nanoseconds after Timestamp before first delivery (DPUB)
	Attempts  uint16
	Body      []byte
}

// Due is when the message may first be delivered (unix ns).
func (m *Message) Due() int64 { return m.Timestamp + m.Deferral }

// Publish is the payload of KindPublish: messages appended to one topic.
type Publish struct {
	Topic    string
	Messages []Message
}

// Encode appends the payload to b.
func (p *Publish) Encode(b []byte) []byte {
	e := enc{b}
	e.str(p.Topic)
	e.uvarint(uint64(len(p.Messages)))
	for i := range p.Messages {
		m := &p.Messages[i]
		e.fixed16(m.ID)
		e.varint(m.Timestamp)
		e.varint(m.Deferral)
		e.uvarint(uint64(m.Attempts))
		e.bytes(m.Body)
	}
	return e.b
}

// DecodePublish decodes a KindPublish payload. Bodies alias data.
func DecodePublish(data []byte) (Publish, error) {
	d := dec{b: data}
	p := Publish{Topic: d.str()}
	n := d.count(20)
	if d.err == nil {
		p.Messages = make([]Message, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		m := &p.Messages[i]
		m.ID = d.fixed16()
		m.Timestamp = d.varint()
		m.Deferral = d.varint()
		m.Attempts = uint16(min(d.uvarint(), 0xffff))
		m.Body = d.bytes()
	}
	return p, d.done()
}

// publishSummary walks a KindPublish payload without allocating and
// returns what apply needs: topic, message count and newest timestamp. It
// accepts exactly what DecodePublish accepts.
func publishSummary(data []byte) (topic string, n int, newest int64, err error) {
	d := dec{b: data}
	topic = d.str()
	n = d.count(20)
	for i := 0; i < n && d.err == nil; i++ {
		_ = d.fixed16()
		newest = max(newest, d.varint())
		_ = d.varint()
		_ = d.uvarint()
		_ = d.bytes()
	}
	if err := d.done(); err != nil {
		return "", 0, 0, err
	}
	return topic, n, newest, nil
}

// publishTopic reads only the topic of a KindPublish payload, so readers
// can skip other topics' batches without decoding them.
func publishTopic(data []byte) (string, error) {
	d := dec{b: data}
	t := d.str()
	return t, d.err
}

// StartMode says where a new (or rewound) channel begins.
type StartMode uint8

const (
	// StartLatest: at the tail, as NSQ does; the first channel of a topic
	// that has none gets the messages the topic held meanwhile.
	StartLatest StartMode = 0
	// StartEarliest: at the oldest message the log still holds.
	StartEarliest StartMode = 1
	// StartSeq: at a given topic sequence number (clamped to what exists).
	StartSeq StartMode = 2
)

// Start is a channel start position, resolved when the entry is applied.
// Positions by time are resolved by the proposer (Engine.SeqAtTime) into a
// StartSeq, so applying never depends on anything but the log.
type Start struct {
	Mode StartMode
	Seq  uint64
}

// ParseStart reads the replay position syntax of the HTTP API: "latest"
// (or empty), "earliest", or a time as unix milliseconds. A time needs the
// topic's log to resolve, so it is returned as atMs with ok; the caller
// resolves it with Engine.SeqAtTime(topic, atMs*1e6) into StartSeq.
func ParseStart(spec string) (st Start, atMs int64, isTime bool, err error) {
	switch spec {
	case "", "latest":
		return Start{Mode: StartLatest}, 0, false, nil
	case "earliest":
		return Start{Mode: StartEarliest}, 0, false, nil
	}
	var ms int64
	if _, err := fmt.Sscanf(spec, "%d", &ms); err != nil || ms < 0 || fmt.Sprint(ms) != spec {
		return Start{}, 0, false, fmt.Errorf("brokerlog: bad start %q: want earliest, latest or unix milliseconds", spec)
	}
	return Start{}, ms, true, nil
}

// ChannelOp is the payload of every channel kind but KindChannelState.
// Start is meaningful for KindChannelCreate and KindChannelRewind.
type ChannelOp struct {
	Topic, Channel string
	Start          Start
}

// Encode appends the payload to b.
func (c *ChannelOp) Encode(b []byte) []byte {
	e := enc{b}
	e.str(c.Topic)
	e.str(c.Channel)
	e.byte1(byte(c.Start.Mode))
	e.uvarint(c.Start.Seq)
	return e.b
}

// DecodeChannelOp decodes a channel payload.
func DecodeChannelOp(data []byte) (ChannelOp, error) {
	d := dec{b: data}
	c := ChannelOp{Topic: d.str(), Channel: d.str()}
	c.Start.Mode = StartMode(d.byte1())
	c.Start.Seq = d.uvarint()
	if d.err == nil && c.Start.Mode > StartSeq {
		d.fail(fmt.Sprintf("start mode %d", c.Start.Mode))
	}
	return c, d.done()
}

// EncodeTopicOp encodes the payload of the topic kinds: the topic name.
func EncodeTopicOp(b []byte, topic string) []byte {
	e := enc{b}
	e.str(topic)
	return e.b
}

// DecodeTopicOp decodes a topic payload.
func DecodeTopicOp(data []byte) (string, error) {
	d := dec{b: data}
	t := d.str()
	return t, d.done()
}

// Range is a half-open range [Lo, Hi) of topic sequence numbers.
type Range struct{ Lo, Hi uint64 }

// Requeue records a message put back (REQ, or a timeout) with the time it
// is due again and its attempts so far.
type Requeue struct {
	Seq      uint64
	Due      int64 // unix ns
	Attempts uint16
}

// Attempt records how often a message was delivered (it is in flight).
type Attempt struct {
	Seq      uint64
	Attempts uint16
}

// ChannelState is one channel's part of a KindChannelState entry.
type ChannelState struct {
	Topic, Channel string
	Finished       []Range // ascending, disjoint
	Requeued       []Requeue
	Attempts       []Attempt
}

// EncodeChannelStates encodes a KindChannelState payload.
func EncodeChannelStates(b []byte, states []ChannelState) []byte {
	e := enc{b}
	e.uvarint(uint64(len(states)))
	for i := range states {
		s := &states[i]
		e.str(s.Topic)
		e.str(s.Channel)
		e.uvarint(uint64(len(s.Finished)))
		var prev uint64
		for _, r := range s.Finished { // delta-encoded: FIN ranges are dense
			e.uvarint(r.Lo - prev)
			e.uvarint(r.Hi - r.Lo)
			prev = r.Hi
		}
		e.uvarint(uint64(len(s.Requeued)))
		for _, r := range s.Requeued {
			e.uvarint(r.Seq)
			e.varint(r.Due)
			e.uvarint(uint64(r.Attempts))
		}
		e.uvarint(uint64(len(s.Attempts)))
		for _, a := range s.Attempts {
			e.uvarint(a.Seq)
			e.uvarint(uint64(a.Attempts))
		}
	}
	return e.b
}

// DecodeChannelStates decodes a KindChannelState payload.
func DecodeChannelStates(data []byte) ([]ChannelState, error) {
	d := dec{b: data}
	n := d.count(5)
	var out []ChannelState
	for i := 0; i < n && d.err == nil; i++ {
		s := ChannelState{Topic: d.str(), Channel: d.str()}
		nf := d.count(2)
		var prev uint64
		for k := 0; k < nf && d.err == nil; k++ {
			lo := prev + d.uvarint()
			hi := lo + d.uvarint()
			if d.err == nil && (hi <= lo || lo < prev) {
				d.fail("empty or overlapping finished range")
			}
			s.Finished = append(s.Finished, Range{lo, hi})
			prev = hi
		}
		nr := d.count(3)
		for k := 0; k < nr && d.err == nil; k++ {
			s.Requeued = append(s.Requeued, Requeue{Seq: d.uvarint(), Due: d.varint(), Attempts: uint16(min(d.uvarint(), 0xffff))})
		}
		na := d.count(2)
		for k := 0; k < na && d.err == nil; k++ {
			s.Attempts = append(s.Attempts, Attempt{Seq: d.uvarint(), Attempts: uint16(min(d.uvarint(), 0xffff))})
		}
		out = append(out, s)
	}
	return out, d.done()
}

// errUnknownKind is returned by Validate for kinds this version does not know.
var errUnknownKind = errors.New("brokerlog: unknown entry kind")

// Validate decodes an entry's payload by its kind and reports whether it is
// well-formed. Used by the fuzz target and by tools; apply uses the same
// decoders and skips (and counts) entries that fail.
func Validate(kind logstore.Kind, data []byte) error {
	var err error
	switch kind {
	case logstore.KindNoop:
	case KindPublish:
		_, err = DecodePublish(data)
	case KindTopicCreate, KindTopicDelete, KindTopicPause, KindTopicUnpause, KindTopicEmpty:
		_, err = DecodeTopicOp(data)
	case KindChannelCreate, KindChannelDelete, KindChannelPause, KindChannelUnpause, KindChannelEmpty, KindChannelRewind:
		_, err = DecodeChannelOp(data)
	case KindChannelState:
		_, err = DecodeChannelStates(data)
	default:
		err = fmt.Errorf("%w %d", errUnknownKind, kind)
	}
	return err
}
