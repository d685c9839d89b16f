package nsqd

import (
	"bytes"
)

// The request heads the fast path answers, and nothing else:
//
//	POST /pub?<query> HTTP/1.1     or  POST /mpub?<query> HTTP/1.1
//	every line ended by CRLF; header names are tokens, values hold no
//	control byte but HTAB; exactly one Host (letters, digits, ".-:[]_");
//	exactly one Content-Length (digits only); no Transfer-Encoding, no
//	Expect; Connection absent or "keep-alive"
//
// The target holds only bytes 0x21-0x7e other than '#', and its path is
// /pub or /mpub as is (no escapes, no trailing slash). Anything else —
// other methods, paths and versions, chunked bodies, 100-continue,
// Connection: close, bare LF line ends, heads over fastBufSize — is
// net/http's, whose answer (including its 400s) stays what it was. The
// fuzz test holds every head accepted here against net/http's parser.

type fastEndpoint uint8

const (
	fastPub fastEndpoint = iota + 1
	fastMPub
)

// fastHead is a request head the fast path answers.
type fastHead struct {
	endpoint      fastEndpoint
	target        []byte // as sent, e.g. /pub?topic=t; aliases the read buffer
	query         []byte // after '?'
	host          []byte
	contentLength int64
}

// scanHead looks in b, of which the first *scanned bytes were looked at
// before, for the blank line ending a head. It returns the head's length,
// 0 when b holds no complete head yet, or -1 when b cannot start a head
// the fast path answers (a bare LF, or an empty first line).
func scanHead(b []byte, scanned *int) int {
	for i := *scanned; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		if i < 2 || b[i-1] != '\r' {
			return -1
		}
		if i >= 3 && b[i-2] == '\n' && b[i-3] == '\r' {
			return i + 1
		}
	}
	*scanned = len(b)
	return 0
}

// cutLine splits b after its first CRLF (scanHead checked that every LF
// follows a CR).
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 {
		return nil, nil
	}
	return b[:i-1], b[i+1:]
}

// trimOWS trims spaces and tabs.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseFastHead parses head (as returned by scanHead, blank line included)
// and reports whether the fast path answers it.
func parseFastHead(head []byte) (fastHead, bool) {
	var h fastHead
	line, rest := cutLine(head)
	target, ok := bytes.CutPrefix(line, []byte("POST "))
	if !ok {
		return h, false
	}
	target, proto, ok := bytes.Cut(target, []byte(" "))
	if !ok || string(proto) != "HTTP/1.1" {
		return h, false
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return h, false
		}
	}
	path, query, _ := bytes.Cut(target, []byte("?"))
	switch string(path) {
	case "/pub":
		h.endpoint = fastPub
	case "/mpub":
		h.endpoint = fastMPub
	default:
		return h, false
	}
	h.target, h.query = target, query
	h.contentLength = -1
	hosts := 0
	for {
		line, rest = cutLine(rest)
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isToken(name) {
			return h, false
		}
		value = trimOWS(value)
		if !isFieldValue(value) {
			return h, false
		}
		switch len(name) { // the names we look at differ in length
		case len("Content-Length"):
			if !bytes.EqualFold(name, []byte("Content-Length")) {
				break
			}
			n, ok := parseDigits(value)
			if !ok || h.contentLength >= 0 {
				return h, false
			}
			h.contentLength = n
		case len("Host"):
			if !bytes.EqualFold(name, []byte("Host")) {
				break
			}
			hosts++
			h.host = value
			if !isSimpleHost(value) {
				return h, false
			}
		case len("Connection"):
			if bytes.EqualFold(name, []byte("Connection")) && !bytes.EqualFold(value, []byte("keep-alive")) {
				return h, false
			}
		case len("Transfer-Encoding"):
			if bytes.EqualFold(name, []byte("Transfer-Encoding")) {
				return h, false
			}
		case len("Expect"):
			if bytes.EqualFold(name, []byte("Expect")) {
				return h, false
			}
		}
	}
	return h, hosts == 1 && h.contentLength >= 0
}

// tokenByte marks the bytes of an RFC 9110 token.
var tokenByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// isToken reports whether b is a non-empty token.
func isToken(b []byte) bool {
	for _, c := range b {
		if !tokenByte[c] {
			return false
		}
	}
	return len(b) > 0
}

// isFieldValue reports whether b holds no control byte but HTAB.
func isFieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func isSimpleHost(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_':
		default:
			return false
		}
	}
	return true
}

// parseDigits parses 1 to 18 decimal digits.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
