package nsqd

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
	"github.com/dropin/nsq/internal/testutil"
)

// httpReply is one HTTP response, read in full.
type httpReply struct {
	code   int
	body   string
	header http.Header
}

func (r httpReply) String() string {
	return fmt.Sprintf("%d %q (Content-Type %q)", r.code, r.body, r.header.Get("Content-Type"))
}

// httpNoRedirect is a client that reports redirects instead of following them.
var httpNoRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// httpSend sends a request to base+path. With chunked the body is sent
// without a Content-Length (Transfer-Encoding: chunked).
func httpSend(tb testing.TB, client *http.Client, base, method, path, body string, chunked bool, hdr ...string) httpReply {
	tb.Helper()
	var rd io.Reader = strings.NewReader(body)
	if chunked {
		rd = io.MultiReader(strings.NewReader(body)) // hides the length
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
		if body == "" {
			req.TransferEncoding = []string{"chunked"}
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %s", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %s", method, path, err)
	}
	return httpReply{resp.StatusCode, string(data), resp.Header}
}

func httpBase(n *NSQD) string { return "http://" + n.RealHTTPAddr().String() }

// httpCall sends a request with a Content-Length to n's plain listener.
func httpCall(tb testing.TB, n *NSQD, method, path, body string) httpReply {
	tb.Helper()
	return httpSend(tb, httpNoRedirect, httpBase(n), method, path, body, false)
}

// httpCallChunked sends body chunked.
func httpCallChunked(tb testing.TB, n *NSQD, method, path, body string) httpReply {
	tb.Helper()
	return httpSend(tb, httpNoRedirect, httpBase(n), method, path, body, true)
}

const (
	nsqV1Value = "nsq; version=1.0"
	ctJSON     = "application/json; charset=utf-8"
	ctText     = "text/plain; charset=utf-8"
	hdrNSQ     = "X-NSQ-Content-Type"
	hdrType    = "Content-Type"
)

// checkV1Err checks a V1 error: status, {"message":CODE}, JSON type and
// the X-NSQ-Content-Type header.
func checkV1Err(tb testing.TB, r httpReply, code int, msg string) {
	tb.Helper()
	want := `{"message":"` + msg + `"}`
	if r.code != code || r.body != want {
		tb.Fatalf("got %s, want %d %s", r, code, want)
	}
	if r.header.Get(hdrType) != ctJSON || r.header.Get(hdrNSQ) != nsqV1Value {
		tb.Fatalf("%s: headers %v, want JSON and %s", msg, r.header, hdrNSQ)
	}
}

// checkV1OK checks a V1 "OK" text reply.
func checkV1OK(tb testing.TB, r httpReply) {
	tb.Helper()
	if r.code != 200 || r.body != "OK" || r.header.Get(hdrType) != ctText || r.header.Get(hdrNSQ) != nsqV1Value {
		tb.Fatalf("got %s, headers %v; want 200 OK text with %s", r, r.header, hdrNSQ)
	}
}

// checkV1Empty checks a V1 reply without a result: 200, Content-Length 0,
// no Content-Type.
func checkV1Empty(tb testing.TB, r httpReply) {
	tb.Helper()
	if r.code != 200 || r.body != "" || r.header.Get("Content-Length") != "0" ||
		r.header.Get(hdrType) != "" || r.header.Get(hdrNSQ) != nsqV1Value {
		tb.Fatalf("got %s, headers %v; want 200, empty, Content-Length 0, %s", r, r.header, hdrNSQ)
	}
}

// checkV1JSON checks a V1 JSON reply and returns its body.
func checkV1JSON(tb testing.TB, r httpReply) string {
	tb.Helper()
	if r.code != 200 || r.header.Get(hdrType) != ctJSON || r.header.Get(hdrNSQ) != nsqV1Value {
		tb.Fatalf("got %s, headers %v; want 200 JSON with %s", r, r.header, hdrNSQ)
	}
	return r.body
}

// checkHTTPReply checks a reply against want: "OK", "" (empty), or an error
// code (then code is its status).
func checkHTTPReply(tb testing.TB, r httpReply, code int, want string) {
	tb.Helper()
	switch {
	case code == 200 && want == "OK":
		checkV1OK(tb, r)
	case code == 200 && want == "":
		checkV1Empty(tb, r)
	default:
		checkV1Err(tb, r, code, want)
	}
}

// topicStatsNamed returns one topic's stats, or nil if it does not exist.
func topicStatsNamed(tb testing.TB, n *NSQD, topic string) *TopicStats {
	tb.Helper()
	for _, t := range getStats(tb, n, "&topic="+url.QueryEscape(topic)).Topics {
		if t.TopicName == topic {
			return t
		}
	}
	return nil
}

// channelStatsNamed returns one channel's stats, or nil.
func channelStatsNamed(tb testing.TB, n *NSQD, topic, channel string) *ChannelStats {
	tb.Helper()
	if t := topicStatsNamed(tb, n, topic); t != nil {
		for _, c := range t.Channels {
			if c.ChannelName == channel {
				return c
			}
		}
	}
	return nil
}

// drainMsgs subscribes to topic/channel and returns the bodies of count
// messages, finishing each.
func drainMsgs(tb testing.TB, n *NSQD, topic, channel string, count int) []string {
	tb.Helper()
	sub := subscribe(tb, n, topic, channel, count)
	var out []string
	for i := 0; i < count; i++ {
		m := sub.readMsg()
		out = append(out, m.body)
		sub.cmd("FIN " + m.id)
	}
	return out
}

// rawHTTP writes a raw request on a new connection and parses the reply.
func rawHTTP(tb testing.TB, n *NSQD, request string) httpReply {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", n.RealHTTPAddr().String(), 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // a guard against hanging, not a threshold
	if _, err := io.WriteString(conn, request); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("read response: %s", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return httpReply{resp.StatusCode, string(data), resp.Header}
}

func TestHTTPRouting(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	cases := []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/", 404, ""},
		{"POST", "/put?topic=t", 404, ""},
		{"POST", "/mput?topic=t", 404, ""},
		{"POST", "/dpub?topic=t&defer=1", 404, ""},
		{"GET", "/create_topic?topic=t", 404, ""},
		{"GET", "/delete_topic?topic=t", 404, ""},
		{"GET", "/delete_channel?topic=t&channel=c", 404, ""},
		{"GET", "/empty_channel?topic=t&channel=c", 404, ""},
		{"GET", "/pause_channel?topic=t&channel=c", 404, ""},
		{"GET", "/empty_topic?topic=t", 404, ""},
		{"GET", "/debug/pprof/trace", 404, ""},
		{"GET", "/debug/pprof/mutex", 404, ""},
		{"GET", "/debug/pprof/allocs", 404, ""},
		{"GET", "/pub?topic=t", 405, "OPTIONS, POST"},
		{"PUT", "/pub?topic=t", 405, "OPTIONS, POST"},
		{"GET", "/mpub?topic=t", 405, "OPTIONS, POST"},
		{"POST", "/ping", 405, "GET, OPTIONS"},
		{"POST", "/info", 405, "GET, OPTIONS"},
		{"POST", "/stats", 405, "GET, OPTIONS"},
		{"DELETE", "/config/log_level", 405, "GET, OPTIONS, PUT"},
		{"GET", "/debug/setblockrate?rate=0", 405, "OPTIONS, PUT"},
		{"GET", "/debug/freememory", 405, "OPTIONS, POST"},
		{"PUT", "/debug/pprof/symbol", 405, "GET, OPTIONS, POST"},
	}
	for _, ep := range []string{"topic/create", "topic/delete", "topic/empty", "topic/pause", "topic/unpause",
		"channel/create", "channel/delete", "channel/empty", "channel/pause", "channel/unpause"} {
		cases = append(cases, struct {
			method, path string
			code         int
			allow        string
		}{"GET", "/" + ep + "?topic=t&channel=c", 405, "OPTIONS, POST"})
	}
	for _, c := range cases {
		t.Run(c.method+c.path, func(t *testing.T) {
			r := httpCall(t, n, c.method, c.path, "")
			if c.code == 404 {
				checkV1Err(t, r, 404, "NOT_FOUND")
				return
			}
			checkV1Err(t, r, 405, "METHOD_NOT_ALLOWED")
			if got := r.header.Get("Allow"); got != c.allow {
				t.Fatalf("Allow %q, want %q", got, c.allow)
			}
		})
	}
	// a rejected request has no effect
	if s := topicStatsNamed(t, n, "t"); s != nil {
		t.Fatalf("topic t exists after 404/405 requests: %+v", s)
	}
}

func TestHTTPOptions(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, c := range []struct{ path, allow string }{
		{"/pub", "OPTIONS, POST"},
		{"/mpub", "OPTIONS, POST"},
		{"/ping", "GET, OPTIONS"},
		{"/stats", "GET, OPTIONS"},
		{"/topic/create", "OPTIONS, POST"},
		{"/channel/pause", "OPTIONS, POST"},
		{"/config/msg_timeout", "GET, OPTIONS, PUT"},
		{"/debug/setblockrate", "OPTIONS, PUT"},
		{"/debug/pprof/symbol", "GET, OPTIONS, POST"},
	} {
		t.Run(c.path, func(t *testing.T) {
			r := httpCall(t, n, "OPTIONS", c.path+"?topic=t", "")
			if r.code != 200 || r.body != "" || r.header.Get("Allow") != c.allow {
				t.Fatalf("got %s Allow %q, want 200 empty Allow %q", r, r.header.Get("Allow"), c.allow)
			}
		})
	}
	if s := topicStatsNamed(t, n, "t"); s != nil {
		t.Fatal("OPTIONS /pub?topic=t created the topic")
	}
}

func TestHTTPPing(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	r := httpCall(t, n, "GET", "/ping", "")
	if r.code != 200 || r.body != "OK" || r.header.Get(hdrType) != ctText {
		t.Fatalf("got %s", r)
	}
	if _, ok := r.header[hdrNSQ]; ok {
		t.Fatalf("/ping has %s", hdrNSQ)
	}

	// after a failed disk write /ping and /stats report it until the next
	// good write
	n.setHealth(errors.New("disk on fire"))
	r = httpCall(t, n, "GET", "/ping", "")
	if r.code != 500 || r.body != "NOK - disk on fire" || r.header.Get(hdrType) != ctText {
		t.Fatalf("unhealthy: got %s", r)
	}
	if _, ok := r.header[hdrNSQ]; ok {
		t.Fatalf("unhealthy /ping has %s", hdrNSQ)
	}
	if h := getStats(t, n, "").Health; h != "NOK - disk on fire" {
		t.Fatalf("stats health %q", h)
	}
	n.clearHealth()
	if r := httpCall(t, n, "GET", "/ping", ""); r.code != 200 || r.body != "OK" {
		t.Fatalf("healthy again: got %s", r)
	}
}

func TestHTTPInvalidRequest(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/pub?topic=t%zz", "msg"},
		{"POST", "/mpub?topic=t%zz", "msg"},
		{"POST", "/mpub?topic=t%zz&binary=true", string(mpubBody("m"))},
		{"GET", "/stats?format=json&topic=%zz", ""},
		{"GET", "/stats?%", ""},
		{"POST", "/topic/create?topic=%zz", ""},
		{"POST", "/topic/delete?topic=t&x=%zz", ""},
		{"POST", "/topic/empty?topic=%zz", ""},
		{"POST", "/topic/pause?topic=%zz", ""},
		{"POST", "/topic/unpause?topic=%zz", ""},
		{"POST", "/channel/create?topic=t&channel=%zz", ""},
		{"POST", "/channel/delete?topic=%zz&channel=c", ""},
		{"POST", "/channel/empty?topic=t&channel=%", ""},
		{"POST", "/channel/pause?topic=t&channel=%zz", ""},
		{"POST", "/channel/unpause?topic=t&channel=%zz", ""},
	} {
		t.Run(c.path, func(t *testing.T) {
			checkV1Err(t, httpCall(t, n, c.method, c.path, c.body), 400, "INVALID_REQUEST")
		})
	}
	if s := getStats(t, n, ""); len(s.Topics) != 0 {
		t.Fatalf("bad requests created topics: %+v", s.Topics)
	}
}

// The Accept header Go tooling sends changes nothing: V1 always.
func TestHTTPAcceptIgnored(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, accept := range []string{"application/vnd.nsq; version=1.0", "text/html", ""} {
		r := httpSend(t, httpNoRedirect, httpBase(n), "POST", "/pub?topic=acc", "m", false, "Accept", accept)
		checkV1OK(t, r)
		checkV1Err(t, httpSend(t, httpNoRedirect, httpBase(n), "POST", "/pub", "m", false, "Accept", accept), 400, "MISSING_ARG_TOPIC")
	}
}

func TestHTTPPub(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 100
	opts.MaxBodySize = 1000
	opts.MaxReqTimeout = 10 * time.Second
	n := startNSQD(t, opts)
	max := strings.Repeat("x", 100)

	cases := []struct {
		name, query, body string
		chunked           bool
		code              int
		want              string // "OK" or the error code
	}{
		{"exactly max-msg-size", "topic=p1", max, false, 200, "OK"},
		{"max-msg-size+1", "topic=p1", max + "x", false, 413, "MSG_TOO_BIG"},
		{"chunked max-msg-size", "topic=p1", max, true, 200, "OK"},
		{"chunked max-msg-size+1", "topic=p1", max + "x", true, 413, "MSG_TOO_BIG"},
		{"chunked far too big", "topic=p1", strings.Repeat(max, 20), true, 413, "MSG_TOO_BIG"},
		{"empty", "topic=p1", "", false, 400, "MSG_EMPTY"},
		{"empty chunked", "topic=p1", "", true, 400, "MSG_EMPTY"},
		{"too big before query", "topic=p%zz", max + "x", false, 413, "MSG_TOO_BIG"},
		{"empty before query", "topic=p%zz", "", false, 400, "MSG_EMPTY"},
		{"empty before missing topic", "", "", false, 400, "MSG_EMPTY"},
		{"bad escape", "topic=p%zz", "m", false, 400, "INVALID_REQUEST"},
		{"no topic", "", "m", false, 400, "MISSING_ARG_TOPIC"},
		{"no topic, other params", "defer=abc&channel=c", "m", false, 400, "MISSING_ARG_TOPIC"},
		{"empty topic", "topic=", "m", false, 400, "INVALID_TOPIC"},
		{"invalid topic", "topic=bad!name", "m", false, 400, "INVALID_TOPIC"},
		{"topic too long", "topic=" + strings.Repeat("t", 65), "m", false, 400, "INVALID_TOPIC"},
		{"invalid topic before defer", "topic=bad!&defer=abc", "m", false, 400, "INVALID_TOPIC"},
		{"defer 0", "topic=d0&defer=0", "m", false, 200, "OK"},
		{"defer max-req-timeout", "topic=dmax&defer=10000", "m", false, 200, "OK"},
		{"defer max-req-timeout+1", "topic=dbig&defer=10001", "m", false, 400, "INVALID_DEFER"},
		{"defer abc", "topic=dabc&defer=abc", "m", false, 400, "INVALID_DEFER"},
		{"defer negative", "topic=dneg&defer=-1", "m", false, 400, "INVALID_DEFER"},
		{"defer empty", "topic=dempty&defer=", "m", false, 400, "INVALID_DEFER"},
		{"defer fraction", "topic=dfrac&defer=1.5", "m", false, 400, "INVALID_DEFER"},
		{"first topic wins", "topic=first&topic=second", "m", false, 200, "OK"},
		{"first defer wins", "topic=fdefer&defer=abc&defer=10", "m", false, 400, "INVALID_DEFER"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r httpReply
			if c.chunked {
				r = httpCallChunked(t, n, "POST", "/pub?"+c.query, c.body)
			} else {
				r = httpCall(t, n, "POST", "/pub?"+c.query, c.body)
			}
			checkHTTPReply(t, r, c.code, c.want)
		})
	}

	// an invalid defer still leaves the new topic created, with nothing in it
	for _, name := range []string{"dbig", "dabc", "dneg", "dempty", "dfrac", "fdefer"} {
		s := topicStatsNamed(t, n, name)
		if s == nil || s.MessageCount != 0 {
			t.Errorf("topic %s after INVALID_DEFER: %+v, want it created and empty", name, s)
		}
	}
	for name, exists := range map[string]bool{"first": true, "second": false, "bad!name": false} {
		if got := topicStatsNamed(t, n, name) != nil; got != exists {
			t.Errorf("topic %q exists=%v, want %v", name, got, exists)
		}
	}
	// the accepted max-size bodies arrived whole; rejected ones did not
	if got := drainMsgs(t, n, "p1", "c", 2); got[0] != max || got[1] != max {
		t.Fatalf("p1 bodies %q", got)
	}
	if s := topicStatsNamed(t, n, "p1"); s.MessageCount != 2 || s.MessageBytes != 200 {
		t.Fatalf("p1 counts %d msgs %d bytes, want 2 and 200", s.MessageCount, s.MessageBytes)
	}
}

func TestHTTPPubBodyIsOneMessage(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "whole", "c", 1)
	for _, body := range []string{"a\nb\n", "line\r\n", "\n", " "} {
		checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=whole", body))
		m := sub.readMsg()
		if m.body != body {
			t.Fatalf("published %q, got %q", body, m.body)
		}
		sub.cmd("FIN " + m.id)
	}
}

func TestHTTPPubDefer(t *testing.T) {
	opts := testOptions(t)
	opts.MaxReqTimeout = time.Hour
	n := startNSQD(t, opts)
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=dq", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=dq&channel=c", ""))
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=dq&defer=3600000", "later"))
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=dq&defer=0", "now"))
	eventually(t, func() bool {
		c := channelStatsOf(t, n, "dq", "c")
		return c != nil && c.DeferredCount == 1 && c.Depth == 1
	}, "channel dq/c should hold 1 deferred and 1 ready message")
	if got := drainMsgs(t, n, "dq", "c", 1); got[0] != "now" {
		t.Fatalf("got %q before the deferred message", got)
	}
}

// The Content-Length check comes first: nsqd answers without waiting for
// a body it would refuse.
func TestHTTPPubContentLengthCheckedFirst(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 100
	n := startNSQD(t, opts)
	// (above 256 KiB, so Go's server does not try to drainMsgs the unsent body)
	r := rawHTTP(t, n, "POST /pub?topic=cl HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n")
	checkV1Err(t, r, 413, "MSG_TOO_BIG")
	r = rawHTTP(t, n, "POST /mpub?topic=cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5242881\r\n\r\n")
	checkV1Err(t, r, 413, "BODY_TOO_BIG")
	if topicStatsNamed(t, n, "cl") != nil {
		t.Fatal("a refused body created the topic")
	}
}

// A body that cannot be read is 500 INTERNAL_ERROR (text modes) or the
// binary MPUB codes.
func TestHTTPBodyReadError(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	badChunk := "Host: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
	checkV1Err(t, rawHTTP(t, n, "POST /pub?topic=re HTTP/1.1\r\n"+badChunk), 500, "INTERNAL_ERROR")
	checkV1Err(t, rawHTTP(t, n, "POST /mpub?topic=re HTTP/1.1\r\n"+badChunk), 500, "INTERNAL_ERROR")
	checkV1Err(t, rawHTTP(t, n, "POST /mpub?topic=re&binary=true HTTP/1.1\r\n"+badChunk), 413, "BAD_BODY")
}

// httpBinaryMPUB builds an HTTP binary /mpub body: count, then size+bytes.
func httpBinaryMPUB(count int32, msgs ...string) string {
	b := binary.BigEndian.AppendUint32(nil, uint32(count))
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	return string(b)
}

func int32Bytes(size int32) string { return string(binary.BigEndian.AppendUint32(nil, uint32(size))) }

func TestHTTPMPub(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 100
	opts.MaxBodySize = 1000
	n := startNSQD(t, opts)
	x := func(k int) string { return strings.Repeat("x", k) }
	line99 := x(99) + "\n"

	cases := []struct {
		name, query, body string
		chunked           bool
		code              int
		want              string   // "OK" or the error code
		published         []string // what the topic received
	}{
		// text mode
		{"lines", "", "a\nb\nc", false, 200, "OK", []string{"a", "b", "c"}},
		{"trailing newline", "", "a\nb\n", false, 200, "OK", []string{"a", "b"}},
		{"blank lines skipped", "", "\n\na\n\n\nb\n\n", false, 200, "OK", []string{"a", "b"}},
		{"carriage return kept", "", "a\r\nb\r\n\r\n", false, 200, "OK", []string{"a\r", "b\r", "\r"}},
		{"only newlines", "", "\n\n\n", false, 200, "OK", nil},
		{"empty body", "", "", false, 200, "OK", nil},
		{"binary=false", "&binary=false", "a\nb", false, 200, "OK", []string{"a", "b"}},
		{"binary=0", "&binary=0", "a\nb", false, 200, "OK", []string{"a", "b"}},
		{"binary=false reads a binary body as text", "&binary=false", httpBinaryMPUB(2, "x", "y"), false, 200, "OK",
			[]string{httpBinaryMPUB(2, "x", "y")}},
		{"line of max-msg-size", "", x(100) + "\nb", false, 200, "OK", []string{x(100), "b"}},
		{"line too big", "", x(101), false, 413, "MSG_TOO_BIG", nil},
		{"line too big after good lines", "", "a\nb\n" + x(101) + "\nc", false, 413, "MSG_TOO_BIG", nil},
		{"body exactly max-body-size", "", strings.Repeat(line99, 10), false, 200, "OK", repeated(x(99), 10)},
		{"body max-body-size+1", "", strings.Repeat(line99, 10) + "z", false, 413, "BODY_TOO_BIG", nil},
		{"chunked body exactly max-body-size", "", strings.Repeat(line99, 10), true, 200, "OK", repeated(x(99), 10)},
		{"chunked body max-body-size+1", "", strings.Repeat(line99, 10) + "z", true, 413, "BODY_TOO_BIG", nil},
		{"chunked: long line before the body limit", "", x(101) + "\n" + strings.Repeat(line99, 10), true, 413, "MSG_TOO_BIG", nil},
		{"content-length: body limit first", "", x(101) + "\n" + strings.Repeat(line99, 10), false, 413, "BODY_TOO_BIG", nil},
		{"chunked: one line past the body limit", "", x(1001), true, 413, "BODY_TOO_BIG", nil},
		// binary mode
		{"binary=true", "&binary=true", httpBinaryMPUB(2, "a", "b\n"), false, 200, "OK", []string{"a", "b\n"}},
		{"binary=1", "&binary=1", httpBinaryMPUB(1, "one"), false, 200, "OK", []string{"one"}},
		{"binary=yes is binary", "&binary=yes", httpBinaryMPUB(2, "x", "y"), false, 200, "OK", []string{"x", "y"}},
		{"binary=TRUE is binary", "&binary=TRUE", httpBinaryMPUB(1, "up"), false, 200, "OK", []string{"up"}},
		{"binary empty value is binary", "&binary=", httpBinaryMPUB(1, "e"), false, 200, "OK", []string{"e"}},
		{"binary chunked", "&binary=true", httpBinaryMPUB(2, "c1", "c2"), true, 200, "OK", []string{"c1", "c2"}},
		{"binary message of max-msg-size", "&binary=true", httpBinaryMPUB(1, x(100)), false, 200, "OK", []string{x(100)}},
		{"binary trailing bytes ignored", "&binary=true", httpBinaryMPUB(1, "a") + "trailing junk", false, 200, "OK", []string{"a"}},
		{"binary count 0", "&binary=true", httpBinaryMPUB(0), false, 413, "BAD_BODY", nil},
		{"binary count negative", "&binary=true", httpBinaryMPUB(-1, "a"), false, 413, "BAD_BODY", nil},
		{"binary count too large", "&binary=true", httpBinaryMPUB(200, "a"), false, 413, "BAD_BODY", nil},
		{"binary count unreadable", "&binary=true", "ab", false, 413, "BAD_BODY", nil},
		{"binary empty body", "&binary=true", "", false, 413, "BAD_BODY", nil},
		{"binary zero-size message", "&binary=true", httpBinaryMPUB(2, "a", ""), false, 413, "BAD_MESSAGE", nil},
		{"binary negative size", "&binary=true", httpBinaryMPUB(1) + int32Bytes(-5) + "abcde", false, 413, "BAD_MESSAGE", nil},
		{"binary message too big", "&binary=true", httpBinaryMPUB(1, x(101)), false, 413, "BAD_MESSAGE", nil},
		{"binary size unreadable", "&binary=true", httpBinaryMPUB(2, "a") + "\x00\x00", false, 413, "BAD_MESSAGE", nil},
		{"binary truncated count", "&binary=true", httpBinaryMPUB(3, "a", "b"), false, 413, "BAD_MESSAGE", nil},
		{"binary truncated body", "&binary=true", httpBinaryMPUB(1) + int32Bytes(5) + "abc", false, 413, "BAD_MESSAGE", nil},
		{"binary body max-body-size+1 by content-length", "&binary=true", httpBinaryMPUB(1, "a") + x(992), false, 413, "BODY_TOO_BIG", nil},
		// 4 + 9×104 + 60 = 1000 bytes: fits exactly
		{"binary chunked exactly max-body-size", "&binary=true", httpBinaryMPUB(10, append(repeated(x(100), 9), x(56))...), true, 200, "OK",
			append(repeated(x(100), 9), x(56))},
		// NSQ reads such a chunked body without limit; we refuse it
		{"binary chunked past max-body-size", "&binary=true", httpBinaryMPUB(10, repeated(x(100), 10)...), true, 413, "BODY_TOO_BIG", nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			topic := fmt.Sprintf("mp%d", i)
			path := "/mpub?topic=" + topic + c.query
			var r httpReply
			if c.chunked {
				r = httpCallChunked(t, n, "POST", path, c.body)
			} else {
				r = httpCall(t, n, "POST", path, c.body)
			}
			checkHTTPReply(t, r, c.code, c.want)
			s := topicStatsNamed(t, n, topic)
			if s == nil {
				if c.code == 413 && c.want == "BODY_TOO_BIG" && !c.chunked {
					return // refused on Content-Length, before the topic
				}
				t.Fatalf("topic %s not created", topic)
			}
			if s.MessageCount != uint64(len(c.published)) {
				t.Fatalf("topic got %d messages, want %d", s.MessageCount, len(c.published))
			}
			if len(c.published) == 0 {
				return
			}
			got := drainMsgs(t, n, topic, "c", len(c.published))
			for j := range got {
				if got[j] != c.published[j] {
					t.Fatalf("message %d: %q, want %q", j, got[j], c.published[j])
				}
			}
		})
	}
}

func repeated(s string, k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestHTTPMPubQueryErrors(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 10
	opts.MaxBodySize = 20
	n := startNSQD(t, opts)
	for _, c := range []struct {
		name, query, body string
		code              int
		want              string
	}{
		{"body too big before query", "topic=%zz", strings.Repeat("a\n", 11), 413, "BODY_TOO_BIG"},
		{"bad escape", "topic=%zz", "a", 400, "INVALID_REQUEST"},
		{"no topic", "binary=true", "a", 400, "MISSING_ARG_TOPIC"},
		{"empty topic", "topic=", "a", 400, "INVALID_TOPIC"},
		{"invalid topic", "topic=a.b.c!", "a", 400, "INVALID_TOPIC"},
		{"first topic wins", "topic=one&topic=two", "a", 200, "OK"},
		{"first binary wins", "topic=fb&binary=0&binary=1", httpBinaryMPUB(1, "a"), 200, "OK"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkHTTPReply(t, httpCall(t, n, "POST", "/mpub?"+c.query, c.body), c.code, c.want)
		})
	}
	if topicStatsNamed(t, n, "one") == nil || topicStatsNamed(t, n, "two") != nil {
		t.Fatal("repeated topic: want the first")
	}
	// binary=0 won: the binary body went out as one text message
	if s := topicStatsNamed(t, n, "fb"); s == nil || s.MessageCount != 1 || s.MessageBytes != 9 {
		t.Fatalf("fb: %+v, want one 9-byte text message", s)
	}
}

// A topic that is going away answers 503 EXITING.
func TestHTTPPubExiting(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=gone", ""))
	topic, err := n.GetExistingTopic("gone")
	if err != nil {
		t.Fatal(err)
	}
	topic.markExiting() // as in the middle of a delete
	checkV1Err(t, httpCall(t, n, "POST", "/pub?topic=gone", "m"), 503, "EXITING")
	checkV1Err(t, httpCall(t, n, "POST", "/mpub?topic=gone", "m\nn"), 503, "EXITING")
	checkV1Err(t, httpCall(t, n, "POST", "/mpub?topic=gone&binary=true", httpBinaryMPUB(1, "m")), 503, "EXITING")
	checkV1Err(t, httpCall(t, n, "POST", "/channel/create?topic=gone&channel=c", ""), 503, "EXITING")
	if s := topicStatsNamed(t, n, "gone"); s == nil || s.MessageCount != 0 {
		t.Fatalf("gone: %+v", s)
	}
}

func TestHTTPInfo(t *testing.T) {
	opts := testOptions(t)
	opts.TopologyZone = "z1"
	opts.TopologyRegion = "r1"
	opts.MaxHeartbeatInterval = 45 * time.Second
	opts.MaxOutputBufferTimeout = 20 * time.Second
	opts.MaxOutputBufferSize = 32768
	opts.MaxDeflateLevel = 4
	before := time.Now().Unix()
	n := startNSQD(t, opts)
	after := time.Now().Unix()
	body := checkV1JSON(t, httpCall(t, n, "GET", "/info", ""))

	wantKeys := []string{"version", "broadcast_address", "hostname", "http_port", "tcp_port", "start_time",
		"max_heartbeat_interval", "max_output_buffer_size", "max_output_buffer_timeout", "max_deflate_level",
		"topology_zone", "topology_region"}
	if keys := jsonKeyOrder(t, []byte(body)); strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
		t.Fatalf("keys %v, want %v", keys, wantKeys)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	hostname, _ := os.Hostname()
	want := map[string]any{
		"version":                   "1.3.0",
		"broadcast_address":         "127.0.0.1",
		"hostname":                  hostname,
		"http_port":                 float64(n.RealHTTPAddr().(*net.TCPAddr).Port),
		"tcp_port":                  float64(n.RealTCPAddr().(*net.TCPAddr).Port),
		"max_heartbeat_interval":    float64(45e9),
		"max_output_buffer_size":    float64(32768),
		"max_output_buffer_timeout": float64(20e9),
		"max_deflate_level":         float64(4),
		"topology_zone":             "z1",
		"topology_region":           "r1",
	}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("%s = %v, want %v", k, info[k], v)
		}
	}
	if st := int64(info["start_time"].(float64)); st < before || st > after {
		t.Errorf("start_time %d not in [%d, %d]", st, before, after)
	}
}

// An --http-address that is not host:port is a unix socket; /info then
// says http_port -1.
func TestHTTPUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "nsqd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	opts := testOptions(t)
	opts.HTTPAddress = filepath.Join(dir, "http.sock") // short: sun_path is small
	opts.TCPAddress = filepath.Join(dir, "tcp.sock")
	n := startNSQD(t, opts)
	if n.RealHTTPAddr().Network() != "unix" || n.RealTCPAddr().Network() != "unix" {
		t.Fatalf("listeners %s %s, want unix sockets", n.RealHTTPAddr().Network(), n.RealTCPAddr().Network())
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", opts.HTTPAddress)
		},
	}}
	t.Cleanup(client.CloseIdleConnections)
	r := httpSend(t, client, "http://unix", "GET", "/ping", "", false)
	if r.code != 200 || r.body != "OK" {
		t.Fatalf("/ping over unix socket: %s", r)
	}
	var info struct {
		HTTPPort int `json:"http_port"`
		TCPPort  int `json:"tcp_port"`
	}
	if err := json.Unmarshal([]byte(checkV1JSON(t, httpSend(t, client, "http://unix", "GET", "/info", "", false))), &info); err != nil {
		t.Fatal(err)
	}
	if info.HTTPPort != -1 || info.TCPPort != -1 {
		t.Fatalf("info ports %+v, want -1 for both unix sockets", info)
	}
	checkV1OK(t, httpSend(t, client, "http://unix", "POST", "/pub?topic=unix", "m", false))
}

func TestHTTPTopicAdminErrors(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	type row struct {
		query string
		code  int
		want  string // error code, or "" for 200 empty
	}
	// per endpoint, in the spec's order of checks
	common := func(invalid row) []row {
		return []row{
			{"topic=%zz", 400, "INVALID_REQUEST"},
			{"", 400, "MISSING_ARG_TOPIC"},
			{"channel=c", 400, "MISSING_ARG_TOPIC"},
			{"topic=bad!&x=%", 400, "INVALID_REQUEST"},
			invalid,
			{"topic=" + strings.Repeat("n", 65), invalid.code, invalid.want},
		}
	}
	validated := row{"topic=bad!", 400, "INVALID_TOPIC"}
	notValidated := row{"topic=bad!", 404, "TOPIC_NOT_FOUND"}
	endpoints := []struct {
		path string
		rows []row
	}{
		{"/topic/create", append(common(validated), row{"topic=", 400, "INVALID_TOPIC"})},
		{"/topic/delete", append(common(notValidated), row{"topic=", 404, "TOPIC_NOT_FOUND"}, row{"topic=nope", 404, "TOPIC_NOT_FOUND"})},
		{"/topic/empty", append(common(validated), row{"topic=", 400, "INVALID_TOPIC"}, row{"topic=nope", 404, "TOPIC_NOT_FOUND"})},
		{"/topic/pause", append(common(notValidated), row{"topic=", 404, "TOPIC_NOT_FOUND"}, row{"topic=nope", 404, "TOPIC_NOT_FOUND"})},
		{"/topic/unpause", append(common(notValidated), row{"topic=nope", 404, "TOPIC_NOT_FOUND"})},
	}
	for _, ep := range endpoints {
		for _, r := range ep.rows {
			t.Run(ep.path+"?"+r.query, func(t *testing.T) {
				checkHTTPReply(t, httpCall(t, n, "POST", ep.path+"?"+r.query, ""), r.code, r.want)
			})
		}
	}
	if s := getStats(t, n, ""); len(s.Topics) != 0 {
		t.Fatalf("error replies created topics: %+v", s.Topics)
	}
}

func TestHTTPChannelAdminErrors(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=t", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=t&channel=c", ""))
	rows := []struct {
		query string
		code  int
		want  string
	}{
		{"topic=t&channel=%zz", 400, "INVALID_REQUEST"},
		{"channel=c", 400, "MISSING_ARG_TOPIC"},
		{"", 400, "MISSING_ARG_TOPIC"},
		{"topic=bad!", 400, "INVALID_ARG_TOPIC"},
		{"topic=bad!&channel=bad!", 400, "INVALID_ARG_TOPIC"},
		{"topic=&channel=c", 400, "INVALID_ARG_TOPIC"},
		{"topic=t", 400, "MISSING_ARG_CHANNEL"},
		{"topic=nope", 400, "MISSING_ARG_CHANNEL"},
		{"topic=t&channel=bad!", 400, "INVALID_ARG_CHANNEL"},
		{"topic=nope&channel=", 400, "INVALID_ARG_CHANNEL"},
		{"topic=nope&channel=" + strings.Repeat("c", 65), 400, "INVALID_ARG_CHANNEL"},
		{"topic=nope&channel=c", 404, "TOPIC_NOT_FOUND"},
	}
	for _, ep := range []string{"create", "delete", "empty", "pause", "unpause"} {
		for _, r := range rows {
			t.Run(ep+"?"+r.query, func(t *testing.T) {
				checkHTTPReply(t, httpCall(t, n, "POST", "/channel/"+ep+"?"+r.query, ""), r.code, r.want)
			})
		}
		if ep == "create" {
			continue
		}
		t.Run(ep+" missing channel", func(t *testing.T) {
			checkV1Err(t, httpCall(t, n, "POST", "/channel/"+ep+"?topic=t&channel=other", ""), 404, "CHANNEL_NOT_FOUND")
		})
	}
	// /channel/create never creates the topic
	if topicStatsNamed(t, n, "nope") != nil {
		t.Fatal("/channel/create created a topic")
	}
	if c := channelStatsOf(t, n, "t", "other"); c != nil {
		t.Fatal("an error reply created a channel")
	}
}

// Repeated parameters: the first value wins on the admin endpoints too.
func TestHTTPAdminFirstValueWins(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, q := range []string{"/topic/create?topic=a&topic=b", "/topic/create?topic=x&topic=y",
		"/channel/create?topic=a&topic=x&channel=c&channel=d", "/channel/create?topic=x&channel=c"} {
		checkV1Empty(t, httpCall(t, n, "POST", q, ""))
	}
	if topicStatsNamed(t, n, "b") != nil || topicStatsNamed(t, n, "y") != nil || channelStatsNamed(t, n, "a", "d") != nil {
		t.Fatal("a second value was used")
	}
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/pause?topic=a&topic=x", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/pause?topic=x&topic=a&channel=c&channel=zz", ""))
	checkV1Err(t, httpCall(t, n, "POST", "/channel/pause?topic=x&channel=zz&channel=c", ""), 404, "CHANNEL_NOT_FOUND")
	checkV1Err(t, httpCall(t, n, "POST", "/topic/empty?topic=bad!&topic=a", ""), 400, "INVALID_TOPIC")
	a, x := topicStatsNamed(t, n, "a"), topicStatsNamed(t, n, "x")
	if !a.Paused || x.Paused || a.Channels[0].Paused || !x.Channels[0].Paused {
		t.Fatalf("paused: a=%v x=%v a/c=%v x/c=%v; want a and x/c only", a.Paused, x.Paused, a.Channels[0].Paused, x.Channels[0].Paused)
	}
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/delete?topic=x&topic=a", ""))
	if topicStatsNamed(t, n, "x") != nil || topicStatsNamed(t, n, "a") == nil {
		t.Fatal("delete used the wrong value")
	}
}

func TestHTTPTopicCreate(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, name := range []string{"plain", "a.b_c-d", "eph#ephemeral", strings.Repeat("n", 64)} {
		checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic="+url.QueryEscape(name), ""))
		checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic="+url.QueryEscape(name), "")) // idempotent
		s := topicStatsNamed(t, n, name)
		if s == nil || len(s.Channels) != 0 {
			t.Fatalf("topic %s: %+v", name, s)
		}
	}
	// creating again keeps what the topic holds
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=plain", "m"))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=plain", ""))
	if s := topicStatsNamed(t, n, "plain"); s.Depth != 1 {
		t.Fatalf("depth %d after re-create, want 1", s.Depth)
	}
}

func TestHTTPChannelCreate(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=t", ""))
	for _, ch := range []string{"c", "eph#ephemeral"} {
		checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=t&channel="+url.QueryEscape(ch), ""))
		checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=t&channel="+url.QueryEscape(ch), ""))
		c := channelStatsNamed(t, n, "t", ch)
		if c == nil || c.ClientCount != 0 || c.Clients == nil || len(c.Clients) != 0 {
			t.Fatalf("channel %s: %+v", ch, c)
		}
	}
	// the new channel gets what is published from then on
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=t", "m"))
	eventually(t, func() bool { c := channelStatsOf(t, n, "t", "c"); return c.Depth == 1 }, "channel c depth 1")
}

func TestHTTPTopicPause(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=tp", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=tp&channel=c", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/pause?topic=tp", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/pause?topic=tp", "")) // no-op
	if !pausedInMetadata(t, n, "tp", "") {
		t.Fatal("nsqd.dat does not say tp is paused right after /topic/pause")
	}
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=tp", "a"))
	checkV1OK(t, httpCall(t, n, "POST", "/mpub?topic=tp", "b\nc"))
	s := topicStatsNamed(t, n, "tp")
	if !s.Paused || s.Depth != 3 || s.Channels[0].Depth != 0 {
		t.Fatalf("paused topic: paused=%v depth=%d channel depth=%d, want true 3 0", s.Paused, s.Depth, s.Channels[0].Depth)
	}
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/unpause?topic=tp", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/unpause?topic=tp", ""))
	if pausedInMetadata(t, n, "tp", "") {
		t.Fatal("nsqd.dat still says tp is paused after /topic/unpause")
	}
	eventually(t, func() bool {
		s := topicStatsNamed(t, n, "tp")
		return !s.Paused && s.Depth == 0 && s.Channels[0].Depth == 3
	}, "after unpause the channel should hold the 3 messages")
}

func TestHTTPChannelPause(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "cp", "c", 10)
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=cp&channel=other", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/pause?topic=cp&channel=c", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/pause?topic=cp&channel=c", ""))
	if !pausedInMetadata(t, n, "cp", "c") || pausedInMetadata(t, n, "cp", "other") {
		t.Fatal("nsqd.dat should say cp/c (only) is paused right after /channel/pause")
	}
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=cp", "held"))
	// the message waits in the paused channel; the other channel is unaffected
	eventually(t, func() bool {
		c := channelStatsOf(t, n, "cp", "c")
		o := channelStatsOf(t, n, "cp", "other")
		return c.Depth == 1 && o.Depth == 1
	}, "the message should be queued in both channels")
	c := channelStatsOf(t, n, "cp", "c")
	if !c.Paused || c.InFlightCount != 0 || c.Clients[0].MessageCount != 0 {
		t.Fatalf("paused channel delivered: paused=%v in_flight=%d client msgs=%d", c.Paused, c.InFlightCount, c.Clients[0].MessageCount)
	}
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/unpause?topic=cp&channel=c", ""))
	if pausedInMetadata(t, n, "cp", "c") {
		t.Fatal("nsqd.dat still says cp/c is paused")
	}
	if m := sub.readMsg(); m.body != "held" || m.attempts != 1 {
		t.Fatalf("after unpause got %+v", m)
	}
}

// pausedInMetadata reads nsqd.dat and reports whether topic (or its channel) is
// paused there.
func pausedInMetadata(tb testing.TB, n *NSQD, topic, channel string) bool {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(n.opts.DataPath, "nsqd.dat"))
	if err != nil {
		tb.Fatal(err)
	}
	var meta struct {
		Topics []struct {
			Name     string `json:"name"`
			Paused   bool   `json:"paused"`
			Channels []struct {
				Name   string `json:"name"`
				Paused bool   `json:"paused"`
			} `json:"channels"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		tb.Fatalf("nsqd.dat: %s", err)
	}
	for _, t := range meta.Topics {
		if t.Name != topic {
			continue
		}
		if channel == "" {
			return t.Paused
		}
		for _, c := range t.Channels {
			if c.Name == channel {
				return c.Paused
			}
		}
	}
	tb.Fatalf("nsqd.dat has no %s/%s: %s", topic, channel, data)
	return false
}

func TestHTTPChannelEmpty(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "ce", "c", 3)
	checkV1OK(t, httpCall(t, n, "POST", "/mpub?topic=ce", "1\n2\n3\n4\n5"))
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, sub.readMsg().id)
	}
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=ce&defer=3600000", "deferred"))
	eventually(t, func() bool {
		c := channelStatsOf(t, n, "ce", "c")
		return c.InFlightCount == 3 && c.Depth == 2 && c.DeferredCount == 1
	}, "3 in flight, 2 queued, 1 deferred")

	checkV1Empty(t, httpCall(t, n, "POST", "/channel/empty?topic=ce&channel=c", ""))
	c := channelStatsOf(t, n, "ce", "c")
	if c.InFlightCount != 0 || c.Depth != 0 || c.DeferredCount != 0 || c.Clients[0].InFlightCount != 0 {
		t.Fatalf("after empty: in_flight=%d depth=%d deferred=%d client in_flight=%d",
			c.InFlightCount, c.Depth, c.DeferredCount, c.Clients[0].InFlightCount)
	}
	// the emptied messages are no longer in flight
	sub.cmd("FIN " + ids[0])
	f := sub.readFrame()
	if f.typ != protocol.FrameTypeError || !strings.HasPrefix(string(f.data), "E_FIN_FAILED") {
		t.Fatalf("FIN after empty: %s, want E_FIN_FAILED", f)
	}
	// the subscriber still works and gets new messages
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=ce", "fresh"))
	if m := sub.readMsg(); m.body != "fresh" {
		t.Fatalf("after empty got %q", m.body)
	}
}

func TestHTTPTopicEmpty(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=te", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=te&channel=c", ""))
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=te", "in channel"))
	eventually(t, func() bool { return channelStatsOf(t, n, "te", "c").Depth == 1 }, "channel depth 1")
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/pause?topic=te", ""))
	checkV1OK(t, httpCall(t, n, "POST", "/mpub?topic=te", "a\nb\nc"))
	if s := topicStatsNamed(t, n, "te"); s.Depth != 3 {
		t.Fatalf("topic depth %d, want 3", s.Depth)
	}
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/empty?topic=te", ""))
	s := topicStatsNamed(t, n, "te")
	if s.Depth != 0 || s.Channels[0].Depth != 1 || !s.Paused {
		t.Fatalf("after empty: topic depth %d, channel depth %d, paused %v; want 0, 1, true", s.Depth, s.Channels[0].Depth, s.Paused)
	}
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/unpause?topic=te", ""))
	if got := drainMsgs(t, n, "te", "c", 1); got[0] != "in channel" {
		t.Fatalf("got %q", got)
	}
	if c := channelStatsOf(t, n, "te", "c"); c.MessageCount != 1 {
		t.Fatalf("channel received %d messages, want only the one before the empty", c.MessageCount)
	}
}

func TestHTTPTopicDelete(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "td", "c", 0)
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=td", "m"))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=keep", ""))

	checkV1Empty(t, httpCall(t, n, "POST", "/topic/delete?topic=td", ""))
	sub.expectClosed()
	if topicStatsNamed(t, n, "td") != nil {
		t.Fatal("topic td still in /stats")
	}
	if raw := statsJSON(t, n, "&topic=td"); string(jsonPath(t, raw, "topics")) != "null" {
		t.Fatalf("stats for a deleted topic: %s", raw)
	}
	checkV1Err(t, httpCall(t, n, "POST", "/topic/delete?topic=td", ""), 404, "TOPIC_NOT_FOUND")
	if topicStatsNamed(t, n, "keep") == nil {
		t.Fatal("other topic deleted")
	}
	// a new topic of the same name starts empty
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=td", ""))
	if s := topicStatsNamed(t, n, "td"); s.Depth != 0 || len(s.Channels) != 0 || s.MessageCount != 0 {
		t.Fatalf("re-created topic: %+v", s)
	}
}

// Deleting a topic removes its queue files and its channels' (flags.md
// §5.1), so a topic created again later does not find old messages.
func TestHTTPTopicDeleteRemovesFiles(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 0 // everything goes to disk, so there are files to remove
	n := startNSQD(t, opts)
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=td", "in the topic queue"))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=td&channel=c", ""))
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=td", "in the channel queue"))
	eventually(t, func() bool { return len(dataFilesWith(t, opts.DataPath, "td:c.")) > 0 }, "td:c queue files on disk")

	checkV1Empty(t, httpCall(t, n, "POST", "/topic/delete?topic=td", ""))
	if testutil.Poll(10*time.Second, func() bool { return len(dataFilesWith(t, opts.DataPath, "td.", "td:")) == 0 }) != nil {
		t.Fatalf("files left after /topic/delete: %v", dataFilesWith(t, opts.DataPath, "td.", "td:"))
	}
}

func TestHTTPChannelDelete(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "cd", "c", 0)
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=cd&channel=other", ""))
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=cd", "m"))

	checkV1Empty(t, httpCall(t, n, "POST", "/channel/delete?topic=cd&channel=c", ""))
	sub.expectClosed()
	s := topicStatsNamed(t, n, "cd")
	if s == nil || len(s.Channels) != 1 || s.Channels[0].ChannelName != "other" || s.Channels[0].Depth != 1 {
		t.Fatalf("after delete: %+v", s)
	}
	checkV1Err(t, httpCall(t, n, "POST", "/channel/delete?topic=cd&channel=c", ""), 404, "CHANNEL_NOT_FOUND")
	// a new channel of the same name starts empty
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=cd&channel=c", ""))
	if c := channelStatsOf(t, n, "cd", "c"); c.Depth != 0 || c.MessageCount != 0 {
		t.Fatalf("re-created channel: %+v", c)
	}
}

func TestHTTPChannelDeleteRemovesFiles(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 0
	n := startNSQD(t, opts)
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=cd", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=cd&channel=c", ""))
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=cd", "m"))
	eventually(t, func() bool { return len(dataFilesWith(t, opts.DataPath, "cd:c.")) > 0 }, "cd:c queue files on disk")

	checkV1Empty(t, httpCall(t, n, "POST", "/channel/delete?topic=cd&channel=c", ""))
	if testutil.Poll(10*time.Second, func() bool { return len(dataFilesWith(t, opts.DataPath, "cd:c.")) == 0 }) != nil {
		t.Fatalf("files left after /channel/delete: %v", dataFilesWith(t, opts.DataPath, "cd:c."))
	}
}

// dataFilesWith lists the data directory entries starting with one of
// prefixes ("t." for topic t's queue, "t:" for its channels').
func dataFilesWith(tb testing.TB, dir string, prefixes ...string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		for _, p := range prefixes {
			if strings.HasPrefix(e.Name(), p) {
				out = append(out, e.Name())
				break
			}
		}
	}
	return out
}

func TestHTTPDebug(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	r := httpCall(t, n, "GET", "/debug/pprof", "")
	if r.code != 301 || r.header.Get("Location") != "/debug/pprof/" {
		t.Fatalf("GET /debug/pprof: %s Location %q", r, r.header.Get("Location"))
	}
	for _, c := range []struct{ method, path, contains string }{
		{"GET", "/debug/pprof/", "goroutine"},
		{"GET", "/debug/pprof/cmdline", os.Args[0]},
		{"GET", "/debug/pprof/symbol", "num_symbols"},
		{"POST", "/debug/pprof/symbol", "num_symbols"},
		{"GET", "/debug/pprof/heap?debug=1", "heap profile"},
		{"GET", "/debug/pprof/goroutine?debug=1", "goroutine profile"},
		{"GET", "/debug/pprof/block?debug=1", "contention"},
		{"GET", "/debug/pprof/threadcreate?debug=1", "threadcreate profile"},
		{"GET", "/debug/pprof/profile?seconds=1", ""},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			r := httpCall(t, n, c.method, c.path, "")
			if r.code != 200 || !strings.Contains(r.body, c.contains) {
				t.Fatalf("got %d, body does not contain %q: %.200q", r.code, c.contains, r.body)
			}
			if _, ok := r.header[hdrNSQ]; ok {
				t.Fatalf("pprof reply has %s", hdrNSQ)
			}
		})
	}
}

func TestHTTPSetBlockRate(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	t.Cleanup(func() { runtime.SetBlockProfileRate(0) })
	for _, c := range []struct{ query, body string }{
		{"rate=abc", `invalid block rate : strconv.Atoi: parsing "abc": invalid syntax`},
		{"", `invalid block rate : strconv.Atoi: parsing "": invalid syntax`},
		{"rate=1.5", `invalid block rate : strconv.Atoi: parsing "1.5": invalid syntax`},
	} {
		r := httpCall(t, n, "PUT", "/debug/setblockrate?"+c.query, "")
		if r.code != 400 || r.body != c.body || r.header.Get(hdrType) != ctText {
			t.Fatalf("%s: got %s, want 400 %q", c.query, r, c.body)
		}
		if _, ok := r.header[hdrNSQ]; ok {
			t.Fatalf("setblockrate error has %s", hdrNSQ)
		}
	}
	// NSQ applies the rate and then answers 500 (its text wrapper cannot
	// render an empty result); we answer 200 with an empty body.
	r := httpCall(t, n, "PUT", "/debug/setblockrate?rate=1", "")
	if _, ok := r.header[hdrNSQ]; r.code != 200 || r.body != "" || ok {
		t.Fatalf("rate=1: got %s %v", r, r.header)
	}
	eventually(t, func() bool {
		httpTestBlock()
		return strings.Contains(httpCall(t, n, "GET", "/debug/pprof/block?debug=1", "").body, "httpTestBlock")
	}, "with rate 1 the block profile should record httpTestBlock")
	if r := httpCall(t, n, "PUT", "/debug/setblockrate?rate=0", ""); r.code != 200 {
		t.Fatalf("rate=0: got %s", r)
	}
}

// httpTestBlock blocks on a channel once, for the block profile.
func httpTestBlock() {
	ch := make(chan int)
	go func() { ch <- 1 }()
	<-ch
}

func TestHTTPFreeMemory(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	r := httpCall(t, n, "POST", "/debug/freememory", "")
	if _, ok := r.header[hdrNSQ]; r.code != 200 || r.body != "" || ok {
		t.Fatalf("got %s %v", r, r.header)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.NumForcedGC <= before.NumForcedGC {
		t.Fatalf("no forced GC ran (%d -> %d)", before.NumForcedGC, after.NumForcedGC)
	}
}

// httpTestCert writes a self-signed certificate for 127.0.0.1 into a
// temporary directory and returns the file paths and a pool trusting it.
func httpTestCert(tb testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	certFile, keyFile = testutil.WriteCert(tb, tb.TempDir(), "nsqd-http-test")
	pem, err := os.ReadFile(certFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return certFile, keyFile, pool
}

func TestHTTPTLSRequired(t *testing.T) {
	certFile, keyFile, pool := httpTestCert(t)
	httpsClient := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		Timeout:   30 * time.Second,
	}
	t.Cleanup(httpsClient.CloseIdleConnections)
	start := func(t *testing.T, mode TLSRequired) *NSQD {
		opts := testOptions(t)
		opts.TLSCert, opts.TLSKey, opts.TLSRequired = certFile, keyFile, mode
		opts.TLSMinVersion = tls.VersionTLS12
		return startNSQD(t, opts)
	}
	httpsBase := func(n *NSQD) string { return "https://" + n.RealHTTPSAddr().String() }

	t.Run("true", func(t *testing.T) {
		n := start(t, TLSRequiredAll)
		want := fmt.Sprintf(`{"message": "TLS_REQUIRED", "https_port": %d}`, n.RealHTTPSAddr().(*net.TCPAddr).Port)
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/ping", ""},
			{"GET", "/info", ""},
			{"POST", "/pub?topic=plain", "m"},
			{"GET", "/stats?format=json", ""},
			{"GET", "/nope", ""},
			{"GET", "/pub", ""},
			{"OPTIONS", "/pub", ""},
			{"GET", "/debug/pprof/", ""},
		} {
			r := httpCall(t, n, c.method, c.path, c.body)
			if r.code != 403 || r.body != want || r.header.Get(hdrType) != ctJSON || r.header.Get(hdrNSQ) != nsqV1Value {
				t.Fatalf("plain %s %s: got %s headers %v, want 403 %s", c.method, c.path, r, r.header, want)
			}
		}
		if topicStatsOfTLS(t, httpsClient, httpsBase(n), "plain") {
			t.Fatal("a 403 /pub created the topic")
		}
		// the HTTPS listener serves normally
		r := httpSend(t, httpsClient, httpsBase(n), "GET", "/ping", "", false)
		if r.code != 200 || r.body != "OK" {
			t.Fatalf("https /ping: %s", r)
		}
		checkV1OK(t, httpSend(t, httpsClient, httpsBase(n), "POST", "/pub?topic=secure", "m", false))
		if !topicStatsOfTLS(t, httpsClient, httpsBase(n), "secure") {
			t.Fatal("https /pub did not create the topic")
		}
		var info struct {
			HTTPPort int `json:"http_port"`
		}
		json.Unmarshal([]byte(checkV1JSON(t, httpSend(t, httpsClient, httpsBase(n), "GET", "/info", "", false))), &info)
		if info.HTTPPort != n.RealHTTPAddr().(*net.TCPAddr).Port {
			t.Fatalf("https /info http_port %d, want the plain port", info.HTTPPort)
		}
		if r := httpSend(t, httpsClient, httpsBase(n), "GET", "/config/tls_required", "", false); r.body != "2" {
			t.Fatalf("tls_required: %s", r)
		}
		if r := httpSend(t, httpsClient, httpsBase(n), "GET", "/config/tls_min_version", "", false); r.body != "771" {
			t.Fatalf("tls_min_version: %s", r)
		}
		checkV1Err(t, httpSend(t, httpsClient, httpsBase(n), "GET", "/nope", "", false), 404, "NOT_FOUND")
	})

	t.Run("tcp-https", func(t *testing.T) {
		n := start(t, TLSRequiredExceptHTTP)
		if r := httpCall(t, n, "GET", "/ping", ""); r.code != 200 || r.body != "OK" {
			t.Fatalf("plain /ping: %s", r)
		}
		checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=plain", "m"))
		if r := httpCall(t, n, "GET", "/config/tls_required", ""); r.body != "1" {
			t.Fatalf("tls_required: %s", r)
		}
		if r := httpSend(t, httpsClient, httpsBase(n), "GET", "/ping", "", false); r.code != 200 {
			t.Fatalf("https /ping: %s", r)
		}
	})

	t.Run("false with a cert", func(t *testing.T) {
		n := start(t, TLSNotRequired)
		checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=plain", "m"))
		checkV1OK(t, httpSend(t, httpsClient, httpsBase(n), "POST", "/pub?topic=plain", "m", false))
		if s := topicStatsNamed(t, n, "plain"); s.MessageCount != 2 {
			t.Fatalf("got %d messages over both listeners, want 2", s.MessageCount)
		}
	})
}

// topicStatsOfTLS reports whether topic exists, asking over HTTPS.
func topicStatsOfTLS(tb testing.TB, client *http.Client, base, topic string) bool {
	tb.Helper()
	raw := checkV1JSON(tb, httpSend(tb, client, base, "GET", "/stats?format=json&topic="+topic, "", false))
	return string(jsonPath(tb, []byte(raw), "topics")) != "null"
}

func TestConfigGet(t *testing.T) {
	opts := testOptions(t)
	opts.ID = 77
	opts.LogLevel = lg.INFO
	n := startNSQD(t, opts)
	port := n.RealHTTPAddr().(*net.TCPAddr).Port
	cases := []struct {
		opt, want string
		json      bool // else raw text
	}{
		{"msg_timeout", "60000000000", true},
		{"max_msg_timeout", "900000000000", true},
		{"max_req_timeout", "3600000000000", true},
		{"statsd_interval", "60000000000", true},
		{"log_level", "2", true},
		{"nsqlookupd_tcp_addresses", "[]", true},
		{"auth_http_addresses", "[]", true},
		{"e2e_processing_latency_percentiles", "[]", true},
		{"enable_experiment", "[]", true},
		{"tls_required", "0", true},
		{"tls_min_version", "769", true},
		{"id", "77", true},
		{"max_msg_size", "1048576", true},
		{"mem_queue_size", "10000", true},
		{"deflate", "true", true},
		{"statsd_mem_stats", "true", true},
		// string options come back as raw text (NSQ's V1 encoding of a string)
		{"statsd_prefix", fmt.Sprintf("nsq.127_0_0_1_%d.", port), false},
		{"broadcast_address", "127.0.0.1", false},
		{"log_prefix", "[nsqd] ", false},
		{"auth_http_request_method", "get", false},
		{"tls_cert", "", false},
	}
	for _, c := range cases {
		t.Run(c.opt, func(t *testing.T) {
			r := httpCall(t, n, "GET", "/config/"+c.opt, "")
			switch {
			case c.json:
				if checkV1JSON(t, r) != c.want {
					t.Fatalf("got %s, want %s", r.body, c.want)
				}
			case c.want == "":
				checkV1Empty(t, r)
			default:
				if r.code != 200 || r.body != c.want || r.header.Get(hdrType) != ctText || r.header.Get(hdrNSQ) != nsqV1Value {
					t.Fatalf("got %s, want raw %q", r, c.want)
				}
			}
		})
	}
	for _, opt := range []string{"node_id", "nope", "lookupd_tcp_address", "msg-timeout", "logger"} {
		t.Run(opt, func(t *testing.T) {
			checkV1Err(t, httpCall(t, n, "GET", "/config/"+opt, ""), 400, "INVALID_OPTION")
		})
	}
	checkV1Err(t, httpCall(t, n, "GET", "/config/", ""), 404, "NOT_FOUND")
}

func TestConfigPut(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 64
	opts.MaxBodySize = 64
	opts.LogLevel = lg.INFO
	n := startNSQD(t, opts)
	cases := []struct {
		opt, body string
		code      int
		want      string // JSON reply, or the error code
		level     lg.Level
	}{
		{"log_level", "debug", 200, "1", lg.DEBUG},
		{"log_level", "WARN", 200, "3", lg.WARN},
		{"log_level", "Error", 200, "4", lg.ERROR},
		{"log_level", "fatal", 200, "5", lg.FATAL},
		{"log_level", "info", 200, "2", lg.INFO},
		{"log_level", "warning", 400, "INVALID_VALUE", lg.INFO},
		{"log_level", "bogus", 400, "INVALID_VALUE", lg.INFO},
		{"log_level", "debug\n", 400, "INVALID_VALUE", lg.INFO},
		{"log_level", `"debug"`, 400, "INVALID_VALUE", lg.INFO},
		{"log_level", strings.Repeat("x", 64), 400, "INVALID_VALUE", lg.INFO},
		{"log_level", strings.Repeat("x", 65), 413, "INVALID_VALUE", lg.INFO},
		{"log_level", "", 413, "INVALID_VALUE", lg.INFO},
		{"nsqlookupd_tcp_addresses", "not json", 400, "INVALID_VALUE", lg.INFO},
		{"nsqlookupd_tcp_addresses", `{"a":1}`, 400, "INVALID_VALUE", lg.INFO},
		{"nsqlookupd_tcp_addresses", `"127.0.0.1:4160"`, 400, "INVALID_VALUE", lg.INFO},
		{"nsqlookupd_tcp_addresses", "", 413, "INVALID_VALUE", lg.INFO},
		{"nsqlookupd_tcp_addresses", "[]", 200, "[]", lg.INFO},
		{"msg_timeout", "1s", 400, "INVALID_OPTION", lg.INFO},
		{"id", "5", 400, "INVALID_OPTION", lg.INFO},
		{"nope", "x", 400, "INVALID_OPTION", lg.INFO},
		{"nope", "", 413, "INVALID_VALUE", lg.INFO}, // the body is checked first
	}
	for _, c := range cases {
		t.Run(c.opt+"="+c.body, func(t *testing.T) {
			r := httpCall(t, n, "PUT", "/config/"+c.opt, c.body)
			if c.code == 200 {
				if got := checkV1JSON(t, r); got != c.want {
					t.Fatalf("got %s, want %s", got, c.want)
				}
			} else {
				checkV1Err(t, r, c.code, c.want)
			}
			if got := n.log.Level(); got != c.level {
				t.Fatalf("logger level %d, want %d", got, c.level)
			}
			if got := httpCall(t, n, "GET", "/config/log_level", "").body; got != fmt.Sprint(int(c.level)) {
				t.Fatalf("GET log_level %s, want %d", got, c.level)
			}
		})
	}
	if r := httpCall(t, n, "GET", "/config/msg_timeout", ""); r.body != "60000000000" {
		t.Fatalf("msg_timeout changed: %s", r)
	}
}

func TestConfigLookupdAddresses(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=early", ""))
	lookupd := startLookupd(t)
	addr := lookupd.tcp()

	want := `["` + addr + `"]`
	if got := checkV1JSON(t, httpCall(t, n, "PUT", "/config/nsqlookupd_tcp_addresses", want)); got != want {
		t.Fatalf("PUT reply %s, want %s", got, want)
	}
	if got := httpCall(t, n, "GET", "/config/nsqlookupd_tcp_addresses", "").body; got != want {
		t.Fatalf("GET %s, want %s", got, want)
	}
	// nsqd connects to the new lookupd and registers what it has
	eventually(t, func() bool { _, ok := lookupd.identified(t); return ok }, "IDENTIFY")
	eventually(t, func() bool { return lookupd.registered(t, "early", "") }, "REGISTER early")
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=later", ""))
	eventually(t, func() bool { return lookupd.registered(t, "later", "") }, "REGISTER later")

	// dropping it from the list disconnects it: the lookupd forgets nsqd
	if got := checkV1JSON(t, httpCall(t, n, "PUT", "/config/nsqlookupd_tcp_addresses", "[]")); got != "[]" {
		t.Fatalf("PUT [] reply %s", got)
	}
	eventually(t, func() bool {
		return len(lookupd.entries(t, "client::")) == 0 && !lookupd.registered(t, "early", "")
	}, "connection closed")
	if got := httpCall(t, n, "GET", "/config/nsqlookupd_tcp_addresses", "").body; got != "[]" {
		t.Fatalf("GET after PUT []: %s", got)
	}
}
