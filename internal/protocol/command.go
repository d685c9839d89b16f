package protocol

import (
	"bytes"
	"encoding/binary"
	"io"
)

// hasBody reports whether a V2 command is followed by a 4-byte size and a
// body.
func hasBody(name []byte) bool {
	switch string(name) {
	case "PUB", "DPUB", "MPUB", "IDENTIFY", "AUTH":
		return true
	}
	return false
}

// CommandComplete reports whether b starts with a whole V2 command: its
// line and, for a command with a body, the size and every byte of the
// body. A server that answers pipelined commands together must flush once
// the next command is not complete, or a reply waits for bytes the client
// may not send until it has that reply. A size that cannot be valid
// counts as complete: reading it fails at once.
func CommandComplete(b []byte) bool {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return false
	}
	line := TrimLine(b[:nl+1])
	name := line
	if sp := bytes.IndexByte(line, ' '); sp >= 0 {
		name = line[:sp]
	}
	if !hasBody(name) {
		return true
	}
	rest := b[nl+1:]
	if len(rest) < 4 {
		return false
	}
	size := int32(binary.BigEndian.Uint32(rest))
	if size <= 0 {
		return true
	}
	return int64(len(rest)-4) >= int64(size)
}

// readChunk is how much ReadSized allocates ahead of the bytes that have
// arrived: a declared size costs memory only as its bytes come in.
const readChunk = 64 << 10

// ReadSized reads exactly size bytes from r into a buffer that grows as
// they arrive, so a peer that declares a large body and sends nothing
// holds at most readChunk bytes of memory.
func ReadSized(r io.Reader, size int) ([]byte, error) {
	if size <= readChunk {
		b := make([]byte, size)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	b := make([]byte, 0, readChunk)
	for len(b) < size {
		if len(b) == cap(b) {
			grown := cap(b) * 2
			if grown > size {
				grown = size
			}
			b = append(make([]byte, 0, grown), b...)
		}
		k := cap(b)
		if k > size {
			k = size
		}
		n, err := io.ReadFull(r, b[len(b):k])
		b = b[:len(b)+n]
		if err != nil {
			return b, err
		}
	}
	return b, nil
}
