package protocol

import (
	"encoding/binary"
	"fmt"
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
func WriteV1Reply(w io.Writer, data []byte) error { return WriteBody(w, data) }

// ReadFrame reads one V2 frame from r. The data is read into buf when it
// fits (else into a new slice) and aliases it, so it is valid until buf is
// reused. From a *bufio.Reader with a large enough buf it does not allocate.
func ReadFrame(r io.Reader, buf []byte) (frameType int32, data []byte, err error) {
	size, err := ReadInt32(r)
	if err != nil {
		return 0, nil, err
	}
	if size < 4 {
		return 0, nil, fmt.Errorf("read frame: invalid size %d", size)
	}
	frameType, err = ReadInt32(r)
	if err != nil {
		return 0, nil, err
	}
	n := int(size) - 4
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return frameType, buf, nil
}
