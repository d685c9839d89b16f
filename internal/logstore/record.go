package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Kind says what an entry's Data holds. The log does not interpret it; the
// broker's state machine does (see package brokerlog). Kind 0 is reserved for
// entries that carry nothing (raft's empty leader entries map to it).
type Kind uint8

// KindNoop is an entry with no meaning for the state machine.
const KindNoop Kind = 0

// Entry is one record of the log. Index is dense (each entry's is its
// predecessor's plus one) and Term never decreases along the log; Term is 1
// until replication exists. Entries returned by the log share memory with
// the log's read buffers: treat Data as read-only.
type Entry struct {
	Index uint64
	Term  uint64
	Kind  Kind
	Data  []byte
}

const (
	// recordHeader is len(4) + crc(4).
	recordHeader = 8
	// bodyFixed is index(8) + term(8) + kind(1).
	bodyFixed = 17
	// MaxEntryBytes bounds an entry's Data so that a damaged length field
	// cannot make the decoder allocate or skip gigabytes.
	MaxEntryBytes = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errShort means the buffer ends inside a record: a torn tail when it
	// is at the end of the last segment.
	errShort = errors.New("logstore: record truncated")
	// ErrCorrupt reports a record that fails its checksum or its framing
	// rules where a torn tail cannot explain it.
	ErrCorrupt = errors.New("logstore: corrupt record")
)

// encodedSize is how many bytes e takes on disk.
func encodedSize(e *Entry) int { return recordHeader + bodyFixed + len(e.Data) }

// appendRecord appends the framed record of e to buf.
func appendRecord(buf []byte, e *Entry) []byte {
	n := len(buf)
	bodyLen := bodyFixed + len(e.Data)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(bodyLen))
	buf = append(buf, 0, 0, 0, 0) // crc, filled below
	buf = binary.LittleEndian.AppendUint64(buf, e.Index)
	buf = binary.LittleEndian.AppendUint64(buf, e.Term)
	buf = append(buf, byte(e.Kind))
	buf = append(buf, e.Data...)
	crc := crc32.Checksum(buf[n+recordHeader:], castagnoli)
	binary.LittleEndian.PutUint32(buf[n+4:], crc)
	return buf
}

// decodeRecord decodes the record at the start of buf. It returns errShort
// if buf ends before the record does, and an error wrapping ErrCorrupt if the
// record is malformed or fails its checksum. The entry's Data aliases buf.
func decodeRecord(buf []byte) (Entry, int, error) {
	if len(buf) < recordHeader {
		return Entry{}, 0, errShort
	}
	bodyLen := binary.LittleEndian.Uint32(buf)
	if bodyLen < bodyFixed || bodyLen > bodyFixed+MaxEntryBytes {
		return Entry{}, 0, fmt.Errorf("%w: body length %d", ErrCorrupt, bodyLen)
	}
	end := recordHeader + int(bodyLen)
	if len(buf) < end {
		return Entry{}, 0, errShort
	}
	body := buf[recordHeader:end]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(buf[4:]) {
		return Entry{}, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	e := Entry{
		Index: binary.LittleEndian.Uint64(body),
		Term:  binary.LittleEndian.Uint64(body[8:]),
		Kind:  Kind(body[16]),
		Data:  body[bodyFixed:len(body):len(body)],
	}
	return e, end, nil
}

// DecodeAll decodes the records at the start of buf as a segment whose
// first index is first. It stops at the first record that is torn, corrupt,
// out of sequence (index not dense) or whose term decreases, and returns the
// good entries and the byte length they take: the point to cut a torn tail.
// Exported for the fuzz target and tools; the log uses the same rules.
func DecodeAll(buf []byte, first uint64) ([]Entry, int) {
	var ents []Entry
	off := 0
	var lastTerm uint64
	for off < len(buf) {
		e, n, err := decodeRecord(buf[off:])
		if err != nil || e.Index != first+uint64(len(ents)) || e.Term < lastTerm {
			break
		}
		lastTerm = e.Term
		ents = append(ents, e)
		off += n
	}
	return ents, off
}
