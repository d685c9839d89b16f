package harvester

import (
	"regexp"
	"time"
)

// multiline joins lines into events the way Filebeat's multiline settings
// do. A line is "special" when it matches the pattern (or, with negate,
// when it does not). With match "after" a special line is appended to the
// event before it; with "before" special lines are prepended to the next
// non-special line, which ends the event. Joined lines keep '\n' between
// them; lines past maxLines are left out (counted) but their offsets still
// advance the event's end. The joined event obeys the same length rule as
// single lines. Not safe for concurrent use.
type multiline struct {
	re       *regexp.Regexp
	negate   bool
	before   bool
	maxLines int
	maxBytes int
	action   LineAction
	timeout  time.Duration
	c        *counters

	have       bool
	buf        []byte
	lines      int
	end        int64 // offset just past the event's last line
	prevEnd    int64 // end before the last line was added (safe offset for a split piece)
	lastAdd    time.Time
	discarding bool // truncating: later bytes are skipped
	dropping   bool // the event is dropped entirely
	splitSeen  bool
	ready      []line
}

func newMultiline(o *Options, c *counters) (*multiline, error) {
	re, err := regexp.Compile(o.MultilinePattern)
	if err != nil {
		return nil, err
	}
	return &multiline{
		re:       re,
		negate:   o.MultilineNegate,
		before:   o.MultilineMatch == "before",
		maxLines: o.MultilineMaxLines,
		maxBytes: o.MaxLineBytes,
		action:   o.MaxLineAction,
		timeout:  o.MultilineTimeout,
		c:        c,
	}, nil
}

func (m *multiline) special(b []byte) bool { return m.re.Match(b) != m.negate }

// add feeds one line and returns the events it completed, oldest first.
// The returned slice is valid until the next call.
func (m *multiline) add(l line, now time.Time) []line {
	m.ready = m.ready[:0]
	if l.skip {
		// A dropped over-long line: its offset must not overtake the
		// event being built, so fold it into that event.
		if m.have {
			m.end = l.end
		} else {
			m.ready = append(m.ready, l)
		}
		return m.ready
	}
	sp := m.special(l.data)
	if m.before {
		m.addLine(l, now)
		if !sp {
			m.flush()
		}
		return m.ready
	}
	if !(m.have && sp) {
		m.flush()
	}
	m.addLine(l, now)
	return m.ready
}

// due reports whether the event under construction has waited timeout
// since its last line.
func (m *multiline) due(now time.Time) bool {
	return m.have && now.Sub(m.lastAdd) >= m.timeout
}

// wait returns how long until due becomes true (0 if nothing is pending).
func (m *multiline) wait(now time.Time) time.Duration {
	if !m.have {
		return 0
	}
	if d := m.timeout - now.Sub(m.lastAdd); d > 0 {
		return d
	}
	return 0
}

// flushNow completes the event under construction, if any.
func (m *multiline) flushNow() []line {
	m.ready = m.ready[:0]
	m.flush()
	return m.ready
}

func (m *multiline) addLine(l line, now time.Time) {
	m.lastAdd = now
	m.prevEnd = m.end
	m.end = l.end
	if !m.have {
		m.have = true
		m.lines = 1
		m.appendBytes(l.data)
		return
	}
	if m.lines >= m.maxLines {
		m.c.multilineDropped.Add(1)
		return
	}
	m.lines++
	m.appendBytes([]byte{'\n'})
	m.appendBytes(l.data)
}

func (m *multiline) appendBytes(b []byte) {
	for !m.discarding && !m.dropping {
		room := m.maxBytes - len(m.buf)
		if len(b) <= room {
			m.buf = append(m.buf, b...)
			return
		}
		switch m.action {
		case Split:
			if !m.splitSeen {
				m.splitSeen = true
				m.c.linesSplit.Add(1)
			}
			piece := append(m.buf, b[:room]...)
			// The piece ends inside the current line, so it may only claim
			// the offset before that line: a restart re-reads the line.
			m.ready = append(m.ready, line{data: piece, end: m.prevEnd})
			m.buf = nil
			b = b[room:]
		case Truncate:
			m.buf = append(m.buf, b[:room]...)
			m.discarding = true
			m.c.linesTruncated.Add(1)
		default:
			m.buf = nil
			m.dropping = true
			m.c.linesDropped.Add(1)
		}
	}
}

func (m *multiline) flush() {
	if !m.have {
		return
	}
	ev := line{data: m.buf, end: m.end}
	if m.dropping {
		ev = line{end: m.end, skip: true}
	} else if ev.data == nil {
		ev.data = []byte{}
	}
	m.ready = append(m.ready, ev)
	m.have, m.buf, m.lines, m.discarding, m.dropping, m.splitSeen = false, nil, 0, false, false, false
}
