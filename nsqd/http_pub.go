package nsqd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/protocol"
)

// topicFromQuery validates the topic parameter with the /topic/* codes and
// returns (creating) the topic.
func (s *httpServer) topicFromQuery(req *http.Request) (httpapi.Query, *Topic, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.topicOf(pubQuery{parsed: true, q: q})
	return q, t, err
}

// topicOf validates q's topic parameter and returns (creating) the topic.
func (s *httpServer) topicOf(q pubQuery) (*Topic, error) {
	name, ok := q.get("topic")
	if !ok {
		return nil, errBadRequest("MISSING_ARG_TOPIC")
	}
	if !names.IsValidTopicName(name) {
		return nil, errBadRequest("INVALID_TOPIC")
	}
	t, err := s.n.GetTopic(name)
	if err != nil {
		return nil, errUnavailable("EXITING")
	}
	return t, nil
}

func (s *httpServer) pub(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	max := s.n.opts.MaxMsgSize
	if req.ContentLength > max {
		return nil, errTooLarge("MSG_TOO_BIG")
	}
	body, err := readHTTPBody(req, max)
	if err != nil {
		return nil, errInternal()
	}
	return s.publishOne(req.URL.RawQuery, body)
}

// publishOne is /pub once its body is read, shared by net/http and the
// fast path (http_fast.go): NSQ's checks in NSQ's order, then the publish.
func (s *httpServer) publishOne(rawQuery string, body []byte) (any, error) {
	if int64(len(body)) > s.n.opts.MaxMsgSize {
		return nil, errTooLarge("MSG_TOO_BIG")
	}
	if len(body) == 0 {
		return nil, errBadRequest("MSG_EMPTY")
	}
	q, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	t, err := s.topicOf(q)
	if err != nil {
		return nil, err
	}
	var deferral time.Duration
	if d, ok := q.get("defer"); ok {
		ms, err := strconv.ParseInt(d, 10, 64)
		if err != nil || ms < 0 || ms > s.n.opts.MaxReqTimeout.Milliseconds() {
			return nil, errBadRequest("INVALID_DEFER")
		}
		deferral = time.Duration(ms) * time.Millisecond
	}
	if err := t.Publish([][]byte{body}, deferral); err != nil {
		return nil, publishErr(err)
	}
	return "OK", nil
}

// readHTTPBody reads at most max+1 bytes of req's body: exactly its
// Content-Length in one allocation when that is known and within max
// (io.ReadAll would start at 512 bytes and grow), else as much as comes.
func readHTTPBody(req *http.Request, max int64) ([]byte, error) {
	if n := req.ContentLength; n > 0 && n <= max {
		body := make([]byte, n)
		if _, err := io.ReadFull(req.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(req.Body, max+1))
}

// publishErr maps a refused publish to 503: DISK_FULL when the data file
// system has no room (beyond NSQ, which acknowledges and drops), else
// EXITING as in NSQ.
func publishErr(err error) error {
	if errors.Is(err, errNoSpace) {
		return errUnavailable("DISK_FULL")
	}
	if errors.Is(err, errPubFailed) && isReplicationFailure(err) {
		return errUnavailable("PUB_FAILED") // no quorum within the bounded wait
	}
	if errors.Is(err, errPubFailed) {
		return httpapi.Err{Code: 500, Text: "PUB_FAILED"}
	}
	return errUnavailable("EXITING")
}

func (s *httpServer) mpub(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	if req.ContentLength > s.n.opts.MaxBodySize {
		return nil, errTooLarge("BODY_TOO_BIG")
	}
	return s.publishMany(req.URL.RawQuery, req.Body, nil)
}

// publishMany is /mpub once its Content-Length passed, shared by net/http
// and the fast path: the query first, then the body as it is read. The
// fast path has read the whole body already and passes it as whole
// instead of body; text messages are then cut from it without a copy each.
func (s *httpServer) publishMany(rawQuery string, body io.Reader, whole []byte) (any, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	t, err := s.topicOf(q)
	if err != nil {
		return nil, err
	}
	binaryMode := false
	if b, ok := q.get("binary"); ok {
		switch b {
		case "true", "1":
			binaryMode = true
		case "false", "0":
		default:
			s.n.log.Logf(lg.WARN, "HTTP: deprecated binary value %q treated as true", b)
			binaryMode = true
		}
	}
	maxBody, maxMsg := s.n.opts.MaxBodySize, s.n.opts.MaxMsgSize
	var bodies [][]byte
	if binaryMode {
		if whole != nil {
			body = bytes.NewReader(whole)
		}
		bodies, err = readBinaryMPUB(body, maxBody, maxMsg)
	} else if whole != nil {
		bodies, err = splitTextMPUB(whole, maxBody, maxMsg)
	} else {
		bodies, err = readTextMPUB(body, maxBody, maxMsg)
	}
	if err != nil {
		return nil, err
	}
	if len(bodies) == 0 {
		return "OK", nil
	}
	if err := t.Publish(bodies, 0); err != nil {
		return nil, publishErr(err)
	}
	return "OK", nil
}

// readTextMPUB reads newline-separated messages line by line, as NSQ
// does: one trailing "\n" per line is removed ("\r" stays), empty lines
// are skipped, and the checks run in stream order, so a line longer than
// maxMsg is reported before the body outgrows maxBody.
func readTextMPUB(r io.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	lines := textLines{readMax: maxBody + 1, maxMsg: maxMsg}
	br := bufio.NewReader(io.LimitReader(r, lines.readMax))
	for {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, errInternal()
		}
		if err := lines.add(line); err != nil {
			return nil, err
		}
		if err == io.EOF {
			return lines.bodies, nil
		}
	}
}

// splitTextMPUB is readTextMPUB over a body read whole: the same lines,
// checks and errors in the same order, the messages aliasing b.
func splitTextMPUB(b []byte, maxBody, maxMsg int64) ([][]byte, error) {
	lines := textLines{readMax: maxBody + 1, maxMsg: maxMsg}
	lines.bodies = make([][]byte, 0, bytes.Count(b, []byte{'\n'})+1)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		if err := lines.add(line[:len(line):len(line)]); err != nil {
			return nil, err
		}
	}
	return lines.bodies, nil
}

// textLines collects the messages of a text /mpub body, line by line.
type textLines struct {
	readMax, maxMsg int64
	total           int64
	bodies          [][]byte
}

// add takes one line with its "\n", if it has one.
func (l *textLines) add(line []byte) error {
	l.total += int64(len(line))
	if l.total >= l.readMax {
		return errTooLarge("BODY_TOO_BIG")
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	if len(line) > 0 {
		if int64(len(line)) > l.maxMsg {
			return errTooLarge("MSG_TOO_BIG")
		}
		l.bodies = append(l.bodies, line)
	}
	return nil
}

// readBinaryMPUB parses int32 count then count × (int32 size, bytes);
// bytes after the last declared message are not read. Errors carry NSQ's
// TCP MPUB codes without "E_". NSQ bounds a binary body only by its
// Content-Length; a chunked body that goes past maxBody is refused here
// with BODY_TOO_BIG rather than read without limit.
func readBinaryMPUB(r io.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	// unbuffered, so exactly the parsed bytes count against the limit
	lr := &io.LimitedReader{R: r, N: maxBody + 1}
	bodies, err := parseBinaryMPUB(lr, maxBody, maxMsg)
	if lr.N == 0 {
		return nil, errTooLarge("BODY_TOO_BIG")
	}
	return bodies, err
}

func parseBinaryMPUB(r io.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	bodies, err := protocol.ReadMPUB(r, 0, maxBody, maxMsg)
	var perr *protocol.Error
	if errors.As(err, &perr) {
		// BAD_BODY or BAD_MESSAGE: the TCP code without "E_"
		return nil, errTooLarge(strings.TrimPrefix(perr.Code, "E_"))
	}
	return bodies, err
}

// queryBool reads include_clients / include_mem: false and 0 are false,

// pubQuery is the query string of /pub or /mpub: the raw string when it
// needs no unescaping, which get then scans (no map per request), else
// url.ParseQuery's values. Either way the first value of a key wins.
type pubQuery struct {
	raw    string
	parsed bool
	q      httpapi.Query
}

// parseQuery is url.ParseQuery with its INVALID_REQUEST: without '%',
// '+' or ';' that function only splits on '&' and '=', which get does.
func parseQuery(raw string) (pubQuery, error) {
	if !strings.ContainsAny(raw, "%+;") {
		return pubQuery{raw: raw}, nil
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return pubQuery{}, errBadRequest("INVALID_REQUEST")
	}
	return pubQuery{parsed: true, q: httpapi.Query(v)}, nil
}

func (p pubQuery) get(key string) (string, bool) {
	if p.parsed {
		return p.q.Get(key)
	}
	for s := p.raw; s != ""; {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}
