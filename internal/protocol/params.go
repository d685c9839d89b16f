package protocol

import "bytes"

// MaxParams bounds how many space-separated tokens of a command line are
// kept; later tokens are ignored, as NSQ ignores extra parameters.
const MaxParams = 8

// Params is a tokenized command line. The tokens alias the line buffer, so
// they are valid only until the next read from the connection.
type Params struct {
	tokens [MaxParams][]byte
	n      int
	// Extra reports whether the line had more tokens than were kept.
	Extra bool
}

// Split tokenizes line on every single space, as nsqd does: two spaces
// give an empty token and leading spaces are not trimmed. It does not
// allocate.
func (p *Params) Split(line []byte) {
	p.n = 0
	p.Extra = false
	for {
		if p.n == MaxParams {
			p.Extra = true
			return
		}
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			p.tokens[p.n] = line
			p.n++
			return
		}
		p.tokens[p.n] = line[:i]
		p.n++
		line = line[i+1:]
	}
}

// Len is the number of tokens, the command name included.
func (p *Params) Len() int { return p.n }

// At returns token i, or nil past the end.
func (p *Params) At(i int) []byte {
	if i >= p.n {
		return nil
	}
	return p.tokens[i]
}

// TrimLine drops the trailing "\n" and one "\r" before it.
func TrimLine(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// ParseUint parses unsigned decimal digits only, as nsqd parses RDY, REQ
// and DPUB numbers: a sign is an error and an empty token is 0.
func ParseUint(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
