package nsqd

import (
	"encoding/binary"
	"errors"
	"io"
	"time"
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
type Message struct {
	ID        MessageID
	Body      []byte
	Timestamp int64 // publish time, ns since the epoch
	Attempts  uint16

	// delivery state, owned by the channel
	deliveryTS time.Time     // when it was last sent to a client
	clientID   int64         // the client it is in flight to
	deadline   int64         // in-flight timeout or deferral end, ns
	deferral   time.Duration // requested deferral when published with DPUB
	index      int           // position in an in-flight or deferred heap
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

// writeFrame writes the message as a V2 message frame.
func (m *Message) writeFrame(w io.Writer) error {
	var hdr [8 + msgHeaderLength]byte
	binary.BigEndian.PutUint32(hdr[0:4], uint32(4+msgHeaderLength+len(m.Body)))
	binary.BigEndian.PutUint32(hdr[4:8], 2)
	binary.BigEndian.PutUint64(hdr[8:16], uint64(m.Timestamp))
	binary.BigEndian.PutUint16(hdr[16:18], m.Attempts)
	copy(hdr[18:], m.ID[:])
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(m.Body)
	return err
}

var errBadRecord = errors.New("invalid message record")

// decodeMessage parses a disk record. The body aliases b.
func decodeMessage(b []byte) (*Message, error) {
	if len(b) < msgHeaderLength {
		return nil, errBadRecord
	}
	m := &Message{
		Timestamp: int64(binary.BigEndian.Uint64(b[0:8])),
		Attempts:  binary.BigEndian.Uint16(b[8:10]),
		Body:      b[msgHeaderLength:],
	}
	copy(m.ID[:], b[10:msgHeaderLength])
	return m, nil
}
