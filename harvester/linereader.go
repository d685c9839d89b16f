package harvester

import (
	"bytes"
	"errors"
	"io"
)

// line is one unit handed from the line reader to multiline joining and
// then, as an event, to the queue.
type line struct {
	data []byte // content without the newline; empty for an empty line
	end  int64  // file offset just past the line's newline (or its last byte for a split piece)
	skip bool   // carries only an offset: the content was dropped
}

// lineReader cuts a file into lines at '\n', holding back a final line
// until its newline is written. A line longer than max bytes is split,
// truncated or dropped (action); memory stays bounded by max plus the read
// buffer whatever the file holds. Not safe for concurrent use.
type lineReader struct {
	r      io.Reader
	buf    []byte
	lo, hi int   // buf[lo:hi] is read but not yet examined
	pos    int64 // file offset of buf[lo]

	max        int
	action     LineAction
	cur        []byte // the current line so far
	discarding bool   // the rest of the current line is being skipped
	dropped    bool   // the current line is dropped entirely
	splitSeen  bool   // the current line was already counted as split
	c          *counters
}

func newLineReader(r io.Reader, offset int64, bufSize, max int, action LineAction, c *counters) *lineReader {
	return &lineReader{r: r, buf: make([]byte, bufSize), pos: offset, max: max, action: action, c: c}
}

// consumed returns the offset of the next byte not yet taken from the
// file, including a partial line held back.
func (lr *lineReader) consumed() int64 { return lr.pos }

// next returns the next line. ok is false when no complete line is
// available yet (end of file); call again after the file grew.
func (lr *lineReader) next() (l line, ok bool, err error) {
	for {
		if lr.lo == lr.hi {
			n, err := lr.r.Read(lr.buf)
			if n > 0 {
				lr.lo, lr.hi = 0, n
				continue
			}
			if err == nil || errors.Is(err, io.EOF) {
				return line{}, false, nil
			}
			return line{}, false, err
		}
		seg := lr.buf[lr.lo:lr.hi]
		nl := bytes.IndexByte(seg, '\n')
		n := len(seg)
		if nl >= 0 {
			n = nl
		}
		if piece, emitted := lr.take(seg[:n]); emitted {
			return piece, true, nil
		}
		if nl >= 0 {
			lr.advance(1)
			return lr.finish(), true, nil
		}
	}
}

// take adds the n bytes before the next newline (or the buffer's end) to
// the current line, applying the length rule. It returns a piece when
// splitting, in which case it may have taken only part of b.
func (lr *lineReader) take(b []byte) (line, bool) {
	if lr.discarding {
		lr.advance(len(b))
		return line{}, false
	}
	room := lr.max - len(lr.cur)
	if len(b) <= room {
		lr.cur = append(lr.cur, b...)
		lr.advance(len(b))
		return line{}, false
	}
	switch lr.action {
	case Split:
		lr.cur = append(lr.cur, b[:room]...)
		lr.advance(room)
		if !lr.splitSeen {
			lr.splitSeen = true
			lr.c.linesSplit.Add(1)
		}
		piece := line{data: lr.cur, end: lr.pos}
		lr.cur = nil
		return piece, true
	case Truncate:
		lr.cur = append(lr.cur, b[:room]...)
		lr.c.linesTruncated.Add(1)
	default:
		lr.cur = nil
		lr.dropped = true
		lr.c.linesDropped.Add(1)
	}
	lr.discarding = true
	lr.advance(len(b))
	return line{}, false
}

func (lr *lineReader) advance(n int) {
	lr.lo += n
	lr.pos += int64(n)
}

// finish ends the current line at a newline just consumed.
func (lr *lineReader) finish() line {
	l := line{data: lr.cur, end: lr.pos}
	if lr.dropped {
		l = line{end: lr.pos, skip: true}
	} else {
		l.data = bytes.TrimSuffix(l.data, []byte{'\r'})
		if l.data == nil {
			l.data = []byte{}
		}
	}
	lr.cur, lr.discarding, lr.dropped, lr.splitSeen = nil, false, false, false
	return l
}
