package nsqd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"github.com/dropin/nsq/internal/brokerlog"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/storage"
)

// MsgIDLength is the length of a message ID on the wire.
const MsgIDLength = 16

// msgHeaderLength is timestamp (8) + attempts (2) + ID (16).
const msgHeaderLength = 8 + 2 + MsgIDLength

// MessageID is the 16-byte, hex-encoded message ID.
type MessageID [MsgIDLength]byte

// Message is one message as a channel holds it. The body is shared by the
// copies of all channels of a topic and never modified. Fields other than
// the body are guarded by the owning channel's lock.
//
// Laid out in 104 bytes (Go's 112-byte size class; 136 bytes took 144):
// every published message allocates one.
type Message struct {
	ID        MessageID
	Body      []byte
	Timestamp int64 // publish time, ns since the epoch

	// delivery state, owned by the channel
	deliveryTS int64             // when it was last sent to a client, ns since the epoch
	clientID   int64             // the client it is in flight to
	deadline   int64             // in-flight timeout or deferral end, ns
	deferral   time.Duration     // requested deferral when published with DPUB
	seq        uint64            // sequence number in the topic's log (--storage=log)
	src        *brokerlog.Engine // the group log it came from (replication); nil: the node's log
	index      int32             // position in an in-flight or deferred heap
	Attempts   uint16
}

// NewMessage returns a message with a fresh timestamp.
func NewMessage(id MessageID, body []byte) *Message {
	return &Message{ID: id, Body: body, Timestamp: time.Now().UnixNano()}
}

// copyForChannel returns a channel's own copy sharing the body.
func (m *Message) copyForChannel() *Message {
	return &Message{ID: m.ID, Body: m.Body, Timestamp: m.Timestamp, Attempts: m.Attempts, deferral: m.deferral}
}

// appendHeader appends the 26-byte header shared by message frames and
// disk records.
func (m *Message) appendHeader(buf []byte) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(m.Timestamp))
	buf = binary.BigEndian.AppendUint16(buf, m.Attempts)
	return append(buf, m.ID[:]...)
}

// encode returns the disk record: header and body.
func (m *Message) encode() []byte {
	buf := make([]byte, 0, msgHeaderLength+len(m.Body))
	buf = m.appendHeader(buf)
	return append(buf, m.Body...)
}

// encodeBatch returns the disk records of msgs, framed into one buffer
// (one allocation for the batch instead of one per message). The records
// are the caller's.
func encodeBatch(msgs []*Message) [][]byte {
	return new(recordBuf).encode(msgs)
}

// recordBuf holds the disk records of a batch until the backend has
// copied them; recordBufs are pooled so an overflowing publish allocates
// nothing for its records.
type recordBuf struct {
	buf  []byte
	recs [][]byte
}

var recordBufs = sync.Pool{New: func() any { return new(recordBuf) }}

// maxPooledRecordBuf keeps a large MPUB's buffer out of the pool.
const maxPooledRecordBuf = 1 << 20

func (r *recordBuf) encode(msgs []*Message) [][]byte {
	n := 0
	for _, m := range msgs {
		n += msgHeaderLength + len(m.Body)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, 0, n)
	}
	buf := r.buf[:0]
	recs := r.recs[:0]
	for _, m := range msgs {
		start := len(buf)
		buf = m.appendHeader(buf)
		buf = append(buf, m.Body...)
		recs = append(recs, buf[start:len(buf):len(buf)])
	}
	r.buf, r.recs = buf, recs
	return recs
}

// putRecords writes msgs to b as one batch through a pooled buffer.
func putRecords(b storage.Backend, msgs []*Message) error {
	r := recordBufs.Get().(*recordBuf)
	err := b.PutBatch(r.encode(msgs))
	if cap(r.buf) <= maxPooledRecordBuf {
		clear(r.recs)
		r.recs = r.recs[:0]
		recordBufs.Put(r)
	}
	return err
}

// decodeBatch parses disk records into messages allocated together; a
// record that does not parse is reported to bad and skipped. Bodies alias
// recs.
func decodeBatch(recs [][]byte, bad func(error)) []*Message {
	block := make([]Message, len(recs))
	out := make([]*Message, 0, len(recs))
	for i, b := range recs {
		if err := decodeInto(&block[i], b); err != nil {
			bad(err)
			continue
		}
		out = append(out, &block[i])
	}
	return out
}

// frameHeaderLength is a message frame's size, type and message header.
const frameHeaderLength = 8 + msgHeaderLength

// writeFrame writes the message as a V2 message frame. The header is
// built in w's own buffer, so a delivery allocates nothing.
func (m *Message) writeFrame(w *bufio.Writer) error {
	if w.Available() < frameHeaderLength {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	hdr := w.AvailableBuffer()
	if cap(hdr) < frameHeaderLength { // a buffer smaller than a header
		hdr = make([]byte, 0, frameHeaderLength)
	}
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(4+msgHeaderLength+len(m.Body)))
	hdr = binary.BigEndian.AppendUint32(hdr, 2)
	hdr = m.appendHeader(hdr)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(m.Body)
	return err
}

var errBadRecord = errors.New("invalid message record")

// decodeMessage parses a disk record. The body aliases b.
func decodeMessage(b []byte) (*Message, error) {
	m := &Message{}
	if err := decodeInto(m, b); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeInto(m *Message, b []byte) error {
	if len(b) < msgHeaderLength {
		return errBadRecord
	}
	m.Timestamp = int64(binary.BigEndian.Uint64(b[0:8]))
	m.Attempts = binary.BigEndian.Uint16(b[8:10])
	m.Body = b[msgHeaderLength:]
	copy(m.ID[:], b[10:msgHeaderLength])
	return nil
}
