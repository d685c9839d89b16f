package nsqd

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
)

const (
	// fastBufSize is the read buffer of a fast connection: a longer head
	// goes to net/http.
	fastBufSize = 4096
	// fastMaxMPUB is the largest /mpub body the fast path takes: net/http
	// reads at most 256 KiB of a body its handler left unread before it
	// decides whether to keep the connection, so up to there the reply
	// does not depend on how much of the body the handler read.
	fastMaxMPUB = 256 << 10
	// fastMaxOut is how much reply data waits for a pipelined request
	// behind it before it is written anyway.
	fastMaxOut = 32 << 10
	// deadlineSlack: a deadline is re-armed only when the one set is
	// earlier than wanted or more than this later, so a busy connection
	// updates its timer about once a second, not per request.
	deadlineSlack = time.Second
)

// fastConn serves one connection of the fast path on one goroutine:
// read a head, decide, read the body, answer; replies to pipelined
// requests are written together when no request is left buffered.
type fastConn struct {
	f   *fastHTTP
	c   net.Conn
	br  *bufio.Reader
	out []byte // replies not yet written

	readDeadline, writeDeadline time.Time // as set on c
	// now is the time of the last reply, reused for the deadlines armed
	// before the next wait (one clock read per request); zero after a wait
	now time.Time

	dateSec int64
	date    []byte // http.TimeFormat of dateSec
}

func newFastConn(f *fastHTTP, c net.Conn) *fastConn {
	return &fastConn{f: f, c: c, br: bufio.NewReaderSize(c, fastBufSize)}
}

// serve answers requests until the connection ends or is handed off.
// A read error, a timeout or EOF ends it without a reply to the request
// it cut short, as in net/http; the replies to the requests before it are
// written first, their messages being published.
func (fc *fastConn) serve() {
	for {
		h, headLen, err := fc.readHead()
		if err != nil {
			break
		}
		if headLen < 0 || !fc.f.s.fastAllowed() || !fc.fits(h) {
			if fc.flush() != nil {
				break // flush again: nothing is left to write
			}
			fc.f.handOff(fc.c, fc.br)
			return
		}
		target, query := string(h.target), string(h.query) // the buffer is reused
		fc.br.Discard(headLen)
		body, err := fc.readBody(h.contentLength)
		if err != nil {
			break
		}
		fc.answer(h.endpoint, target, query, body)
		if len(fc.out) >= fastMaxOut && fc.flush() != nil {
			break // out is empty: the closing flush writes nothing
		}
	}
	fc.flush()
	fc.f.untrack(fc.c)
	fc.c.Close()
}

// fastAllowed reports whether /pub and /mpub need nothing the fast path
// leaves to net/http: the TLS-required 403 and the HTTP auth check.
func (s *httpServer) fastAllowed() bool {
	return s.n.tlsRequired != TLSRequiredAll && !s.n.opts.HTTPAuthRequired
}

// fits reports whether h's body is within what the fast path reads before
// answering; over it the 413 (or the rest) is net/http's.
func (fc *fastConn) fits(h fastHead) bool {
	if h.endpoint == fastPub {
		return h.contentLength <= fc.f.s.n.opts.MaxMsgSize
	}
	return h.contentLength <= min(fc.f.s.n.opts.MaxBodySize, fastMaxMPUB)
}

// readHead waits for a complete head and returns it, unconsumed, with its
// length, or length -1 for a request that is net/http's.
func (fc *fastConn) readHead() (fastHead, int, error) {
	if fc.br.Buffered() == 0 {
		if err := fc.flush(); err != nil {
			return fastHead{}, 0, err
		}
		fc.armRead(fc.f.idle)
		_, err := fc.br.Peek(1)
		fc.now = time.Time{}
		if err != nil {
			return fastHead{}, 0, err
		}
	}
	armed := false
	scanned := 0
	for {
		b, _ := fc.br.Peek(fc.br.Buffered())
		switch end := scanHead(b, &scanned); {
		case end < 0:
			return fastHead{}, -1, nil
		case end > 0:
			h, ok := parseFastHead(b[:end])
			if !ok {
				return fastHead{}, -1, nil
			}
			return h, end, nil
		}
		if len(b) == fc.br.Size() {
			return fastHead{}, -1, nil
		}
		if !armed {
			fc.armRead(fc.f.head)
			armed = true
		}
		if _, err := fc.br.Peek(len(b) + 1); err != nil {
			return fastHead{}, 0, err
		}
	}
}

// readBody reads exactly n bytes; the allocation is the message's.
func (fc *fastConn) readBody(n int64) ([]byte, error) {
	body := make([]byte, n)
	if int64(fc.br.Buffered()) < n {
		fc.armRead(fc.f.body)
	}
	_, err := io.ReadFull(fc.br, body)
	return body, err
}

// answer runs the shared handler core and queues its V1 reply; a panic
// there is a 500, as net/http's router answers it.
func (fc *fastConn) answer(ep fastEndpoint, target, query string, body []byte) {
	s := fc.f.s
	var start time.Time
	debug := s.n.log != nil && s.n.log.Enabled(lg.DEBUG)
	if debug {
		start = time.Now()
	}
	code, data := fc.call(ep, query, body)
	code, rb, ctype := httpapi.V1Body(code, data)
	fc.now = time.Now()
	fc.out = appendV1Reply(fc.out, code, rb, ctype, fc.dateOf(fc.now))
	fc.f.served.Add(1)
	if debug {
		s.n.log.Logf(lg.DEBUG, "HTTP: %s %s (%s) %s", "POST", target, fc.c.RemoteAddr(), time.Since(start))
	}
}

func (fc *fastConn) call(ep fastEndpoint, query string, body []byte) (code int, data any) {
	s := fc.f.s
	defer func() {
		if p := recover(); p != nil {
			s.n.log.Logf(lg.ERROR, "HTTP: panic in HTTP handler POST %s: %v", ep.path(), p)
			code, data = http.StatusInternalServerError, httpapi.Err{Code: 500, Text: "INTERNAL_ERROR"}
		}
	}()
	var err error
	if ep == fastPub {
		data, err = s.publishOne(query, body)
	} else {
		data, err = s.publishMany(query, nil, body)
	}
	if err != nil {
		return httpapi.StatusOf(err), err
	}
	return http.StatusOK, data
}

func (ep fastEndpoint) path() string {
	if ep == fastPub {
		return "/pub"
	}
	return "/mpub"
}

// appendV1Reply appends the reply NSQ's net/http sends for a V1 reply of
// body with ctype, header order included: a JSON Content-Type is set by
// the handler and comes first (the handler's headers are sorted); a text
// one NSQ leaves to net/http's sniffing, which puts it last. (Our own
// net/http path sets it first; header order carries no meaning.)
func appendV1Reply(b []byte, code int, body []byte, ctype string, date []byte) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	switch {
	case len(body) == 0:
		b = append(b, "Content-Length: 0\r\n"...)
	case ctype == httpapi.ContentTypeJSON:
		b = append(b, "Content-Type: "+httpapi.ContentTypeJSON+"\r\n"...)
	}
	b = append(b, "X-Nsq-Content-Type: nsq; version=1.0\r\nDate: "...)
	b = append(b, date...)
	b = append(b, "\r\n"...)
	if len(body) > 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	if ctype == httpapi.ContentTypeText {
		b = append(b, "Content-Type: "+httpapi.ContentTypeText+"\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// clock is now, or the time of the last reply when no wait came since.
func (fc *fastConn) clock() time.Time {
	if fc.now.IsZero() {
		return time.Now()
	}
	return fc.now
}

// dateOf is the Date header value for now, formatted once a second.
func (fc *fastConn) dateOf(now time.Time) []byte {
	if sec := now.Unix(); sec != fc.dateSec || fc.date == nil {
		fc.dateSec = sec
		fc.date = now.UTC().AppendFormat(fc.date[:0], http.TimeFormat)
	}
	return fc.date
}

// flush writes the queued replies.
func (fc *fastConn) flush() error {
	if len(fc.out) == 0 {
		return nil
	}
	if want := fc.clock().Add(fc.f.write); needsArm(fc.writeDeadline, want) {
		fc.writeDeadline = want.Add(deadlineSlack)
		fc.c.SetWriteDeadline(fc.writeDeadline)
	}
	_, err := fc.c.Write(fc.out)
	fc.out = fc.out[:0]
	return err
}

// armRead makes the read deadline d from now, give or take deadlineSlack.
func (fc *fastConn) armRead(d time.Duration) {
	if want := fc.clock().Add(d); needsArm(fc.readDeadline, want) {
		fc.readDeadline = want.Add(deadlineSlack)
		fc.c.SetReadDeadline(fc.readDeadline)
	}
}

func needsArm(set, want time.Time) bool {
	return set.Before(want) || set.Sub(want) > deadlineSlack
}
