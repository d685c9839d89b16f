package protocol

import (
	"encoding/binary"
	"fmt"
	"io"
)

// peeker is the part of *bufio.Reader that lets a size be read in place.
type peeker interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// ReadInt32 reads one big-endian int32 (a body size, a message count).
// From a *bufio.Reader (anything that can Peek and Discard) it does not
// allocate.
func ReadInt32(r io.Reader) (int32, error) {
	if p, ok := r.(peeker); ok {
		b, err := p.Peek(4)
		if err != nil {
			return 0, err
		}
		v := int32(binary.BigEndian.Uint32(b))
		if _, err := p.Discard(4); err != nil {
			return 0, err
		}
		return v, nil
	}
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}

// AppendBody appends a command body: its 4-byte size, then the bytes.
func AppendBody(buf, body []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	return append(buf, body...)
}

// WriteBody writes a command body: its 4-byte size, then the bytes. It
// makes two writes, so w should be buffered.
func WriteBody(w io.Writer, body []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// AppendMPUB appends the messages of an MPUB body: the count, then each
// message's 4-byte size and bytes. Over TCP the result is sent as a body
// (see AppendBody); HTTP's binary /mpub takes it as it is.
func AppendMPUB(buf []byte, msgs ...[]byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(msgs)))
	for _, m := range msgs {
		buf = AppendBody(buf, m)
	}
	return buf
}

// mpubSlab is the size of the allocations ReadMPUB carves bodies from.
const mpubSlab = 64 << 10

// ReadMPUB decodes the messages of an MPUB body (what AppendMPUB writes)
// from r, one message at a time: the count must be in 1..(maxBody-4)/5
// and each size in 1..maxMsg. Memory follows the bytes that arrive, not
// the declared sizes: the list grows by append, bodies up to 64 KiB are
// carved from 64 KiB slabs (no larger than total, the body size the
// sender declared, when that is above zero) and alias them, larger ones
// are read by ReadSized. Bytes after the last declared message are not
// read.
//
// Errors are fatal *Error values with NSQ's TCP MPUB texts: E_BAD_BODY for
// the count, E_BAD_MESSAGE for a message.
func ReadMPUB(r io.Reader, total int, maxBody, maxMsg int64) ([][]byte, error) {
	count, err := ReadInt32(r)
	if err != nil {
		return nil, NewFatal(ErrBadBody, "MPUB failed to read message count")
	}
	if count <= 0 || int64(count) > (maxBody-4)/5 {
		return nil, NewFatal(ErrBadBody, fmt.Sprintf("MPUB invalid message count %d", count))
	}
	remaining := mpubSlab
	if total > 0 {
		remaining = total - 4
	}
	var slab []byte
	bodies := make([][]byte, 0, min(int(count), 1024))
	for i := 0; i < int(count); i++ {
		size, err := ReadInt32(r)
		if err != nil {
			return nil, NewFatal(ErrBadMessage, fmt.Sprintf("MPUB failed to read message(%d) body size", i))
		}
		if size <= 0 {
			return nil, NewFatal(ErrBadMessage, fmt.Sprintf("MPUB invalid message(%d) body size %d", i, size))
		}
		if int64(size) > maxMsg {
			return nil, NewFatal(ErrBadMessage, fmt.Sprintf("MPUB message too big %d > %d", size, maxMsg))
		}
		var body []byte
		if size > mpubSlab {
			body, err = ReadSized(r, int(size))
		} else {
			if n := len(slab); cap(slab)-n < int(size) {
				slab = make([]byte, 0, max(int(size), min(mpubSlab, remaining)))
			}
			n := len(slab)
			body = slab[n : n+int(size) : n+int(size)]
			slab = slab[:n+int(size)]
			_, err = io.ReadFull(r, body)
		}
		if err != nil {
			return nil, NewFatal(ErrBadMessage, "MPUB failed to read message body")
		}
		remaining -= 4 + int(size)
		bodies = append(bodies, body)
	}
	return bodies, nil
}
