package protocol

import (
	"encoding/binary"
	"io"
)

// Magic bytes a client sends first.
const (
	MagicV1 = "  V1" // nsqlookupd
	MagicV2 = "  V2" // nsqd
)

// Frame types of the V2 protocol.
const (
	FrameTypeResponse int32 = 0
	FrameTypeError    int32 = 1
	FrameTypeMessage  int32 = 2
)

// Well-known response bodies.
var (
	OK        = []byte("OK")
	Heartbeat = []byte("_heartbeat_")
	CloseWait = []byte("CLOSE_WAIT")
)

// AppendFrame appends a V2 frame (size, type, data) to buf.
func AppendFrame(buf []byte, frameType int32, data []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(data)+4))
	buf = binary.BigEndian.AppendUint32(buf, uint32(frameType))
	return append(buf, data...)
}

// WriteFrame writes a V2 frame to w. It makes two writes, so w should be
// buffered.
func WriteFrame(w io.Writer, frameType int32, data []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)+4))
	binary.BigEndian.PutUint32(hdr[4:], uint32(frameType))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// WriteV1Reply writes an nsqlookupd reply: a 4-byte length and the data,
// with no frame type.
func WriteV1Reply(w io.Writer, data []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(data)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// ReadInt32 reads one big-endian int32 (a body length, a message count).
func ReadInt32(r io.Reader) (int32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}
