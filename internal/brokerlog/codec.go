package brokerlog

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadEntry reports an entry payload or checkpoint that does not decode.
var ErrBadEntry = errors.New("brokerlog: malformed payload")

// maxName bounds topic and channel names in payloads (NSQ allows 64).
const maxName = 255

// enc appends the primitive encodings every payload is built from.
type enc struct{ b []byte }

func (e *enc) byte1(v byte)     { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) str(v string)     { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) fixed16(v [16]byte) {
	e.b = append(e.b, v[:]...)
}

// dec reads what enc wrote; the first error sticks and later reads return
// zero values, so decoders check err once at the end.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadEntry, what)
	}
}

func (d *dec) byte1() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail("short byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that must fit in what is left, each item taking at
// least minItem bytes: a damaged count cannot make a decoder allocate more
// than the payload's size.
func (d *dec) count(minItem int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/max(minItem, 1)) {
		d.fail("count larger than payload")
		return 0
	}
	return int(n)
}

// bytes returns a sub-slice of the payload (no copy).
func (d *dec) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	n := d.count(1)
	if d.err == nil && n > maxName {
		d.fail("name too long")
	}
	if d.err != nil {
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *dec) fixed16() (v [16]byte) {
	if d.err != nil || len(d.b) < 16 {
		d.fail("short id")
		return v
	}
	copy(v[:], d.b)
	d.b = d.b[16:]
	return v
}

// done reports the sticky error, or trailing bytes as an error.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	return d.err
}
