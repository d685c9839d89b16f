package protocol

import (
	"bytes"
	"encoding/binary"
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
