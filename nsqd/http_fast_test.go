package nsqd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/protocol"
	"github.com/dropin/nsq/internal/testutil"
)

// startFast serves n's HTTP API on a listener of its own through a
// fastHTTP that tune may adjust (shorter deadlines) before it serves.
func startFast(tb testing.TB, n *NSQD, tune func(*fastHTTP)) *fastHTTP {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := newHTTPServer(n, false)
	f := newFastHTTP(hs, l)
	if tune != nil {
		tune(f)
	}
	srv := httpapi.NewServer(hs, func(string, ...any) {})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); f.acceptLoop() }()
	go func() { defer wg.Done(); httpapi.Serve(srv, f) }()
	tb.Cleanup(func() {
		l.Close()
		srv.Close()
		wg.Wait()
	})
	return f
}

// rawHTTPConn is a client connection that sends raw bytes and reads
// replies byte for byte.
type rawHTTPConn struct {
	tb testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialRawHTTP(tb testing.TB, addr string) *rawHTTPConn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioWait))
	return &rawHTTPConn{tb: tb, c: c, br: bufio.NewReader(c)}
}

func (r *rawHTTPConn) send(s string) {
	r.tb.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.tb.Fatal(err)
	}
}

// reply reads one reply as sent, its Date value replaced by X.
func (r *rawHTTPConn) reply() string {
	r.tb.Helper()
	s, err := testutil.ReadRawHTTPReply(r.br)
	if err != nil {
		r.tb.Fatalf("reading reply: %v (so far %q)", err, s)
	}
	return s
}

// postReq is a POST with Host and Content-Length and extra header lines.
func postReq(target, body string, extra ...string) string {
	return "POST " + target + " HTTP/1.1\r\nHost: t\r\n" + strings.Join(append(extra, ""), "\r\n") +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

const pingReq = "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"

func fastTestOptions(tb testing.TB) *Options {
	opts := testOptions(tb)
	opts.MaxMsgSize = 100
	opts.MaxBodySize = 400
	opts.MaxReqTimeout = 10 * time.Second
	return opts
}

// TestFastHTTPSameBytes sends each request once on a fresh connection,
// where the fast path reads it, and once on a connection already handed
// to net/http: the replies must be the same bytes (Date aside), and the
// fast path must answer exactly the requests it is meant to.
func TestFastHTTPSameBytes(t *testing.T) {
	n := startNSQD(t, fastTestOptions(t))
	f := startFast(t, n, nil)
	big := strings.Repeat("x", 101)
	bin := func(bodies ...string) string {
		var bs [][]byte
		for _, b := range bodies {
			bs = append(bs, []byte(b))
		}
		return string(protocol.AppendMPUB(nil, bs...))
	}
	cases := []struct {
		name, req string
		fast      bool
	}{
		{"pub ok", postReq("/pub?topic=t1", "hello"), true},
		{"pub empty", postReq("/pub?topic=t1", ""), true},
		{"pub max size", postReq("/pub?topic=t1", big[:100]), true},
		{"pub no topic", postReq("/pub", "m"), true},
		{"pub empty query", postReq("/pub?", "m"), true},
		{"pub topic no value", postReq("/pub?topic", "m"), true},
		{"pub bad topic", postReq("/pub?topic=bad!", "m"), true},
		{"pub bad escape", postReq("/pub?topic=%zz", "m"), true},
		{"pub escaped topic", postReq("/pub?topic=t%31", "m"), true},
		{"pub plus", postReq("/pub?topic=a+b", "m"), true},
		{"pub semicolon", postReq("/pub?topic=t1;x=1", "m"), true},
		{"pub first topic wins", postReq("/pub?&&topic=t1&topic=bad!", "m"), true},
		{"pub defer ok", postReq("/pub?topic=t1&defer=10000", "m"), true},
		{"pub defer abc", postReq("/pub?topic=t1&defer=abc", "m"), true},
		{"pub defer negative", postReq("/pub?topic=t1&defer=-1", "m"), true},
		{"pub defer too big", postReq("/pub?topic=t1&defer=10001", "m"), true},
		{"pub lower-case headers", "POST /pub?topic=t1 HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\n\r\nm", true},
		{"pub keep-alive, extra headers", postReq("/pub?topic=t1", "m", "Connection: Keep-Alive",
			"User-Agent: x/1", "Content-Type: application/octet-stream", "X-Obs: \x80\xff\tok"), true},
		{"pub leading zeros", "POST /pub?topic=t1 HTTP/1.1\r\nHost: t\r\nContent-Length: 001\r\n\r\nm", true},
		{"mpub text", postReq("/mpub?topic=t2", "a\nb\n\nc\n"), true},
		{"mpub text empty", postReq("/mpub?topic=t2", "\n\n"), true},
		{"mpub text line too big", postReq("/mpub?topic=t2", "a\n"+big+"\n"), true},
		{"mpub no topic", postReq("/mpub", "a"), true},
		{"mpub bad topic", postReq("/mpub?topic=b@d", "a"), true},
		{"mpub binary", postReq("/mpub?topic=t2&binary=true", bin("x", "yy")), true},
		{"mpub binary=yes", postReq("/mpub?topic=t2&binary=yes", bin("x")), true},
		{"mpub binary count 0", postReq("/mpub?topic=t2&binary=1", bin()), true},
		{"mpub binary truncated", postReq("/mpub?topic=t2&binary=true", bin("abc")[:8]), true},
		{"mpub binary too big", postReq("/mpub?topic=t2&binary=true", bin(big)), true},
		{"mpub binary trailing bytes", postReq("/mpub?topic=t2&binary=true", bin("x")+"zz"), true},

		{"ping", pingReq, false},
		{"pub over max-msg-size", postReq("/pub?topic=t1", big), false},
		{"mpub over max-body-size", postReq("/mpub?topic=t2", strings.Repeat("z\n", 201)), false},
		{"PUT pub", strings.Replace(postReq("/pub?topic=t1", "m"), "POST", "PUT", 1), false},
		{"GET pub", "GET /pub?topic=t1 HTTP/1.1\r\nHost: t\r\n\r\n", false},
		{"pub trailing slash", postReq("/pub/?topic=t1", "m"), false},
		{"pub escaped path", postReq("/p%75b?topic=t1", "m"), false},
		{"pub absolute target", postReq("http://t/pub?topic=t1", "m"), false},
		{"pub fragment", postReq("/pub?topic=t1#x", "m"), false},
		{"pub HTTP/1.0", strings.Replace(postReq("/pub?topic=t1", "m"), "HTTP/1.1", "HTTP/1.0", 1), false},
		{"pub chunked", "POST /pub?topic=t1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nm\r\n0\r\n\r\n", false},
		{"pub no length", "POST /pub?topic=t1 HTTP/1.1\r\nHost: t\r\n\r\n", false},
		{"pub two lengths", "POST /pub?topic=t1 HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nm", false},
		{"pub signed length", "POST /pub?topic=t1 HTTP/1.1\r\nHost: t\r\nContent-Length: +1\r\n\r\nm", false},
		{"pub bad length", "POST /pub?topic=t1 HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\nm", false},
		{"pub no host", "POST /pub?topic=t1 HTTP/1.1\r\nContent-Length: 1\r\n\r\nm", false},
		{"pub two hosts", postReq("/pub?topic=t1", "m", "Host: u"), false},
		{"pub bad host", "POST /pub?topic=t1 HTTP/1.1\r\nHost: a b\r\nContent-Length: 1\r\n\r\nm", false},
		{"pub space before colon", postReq("/pub?topic=t1", "m", "X-A : 1"), false},
		{"pub folded header", postReq("/pub?topic=t1", "m", "X-A: 1", " 2"), false},
		{"pub control byte in value", postReq("/pub?topic=t1", "m", "X-A: \x01"), false},
		{"pub bare LF", "POST /pub?topic=t1 HTTP/1.1\nHost: t\nContent-Length: 1\n\nm", false},
		{"pub connection close", postReq("/pub?topic=t1", "m", "Connection: close"), false},
		{"pub expect 100-continue", postReq("/pub?topic=t1", "m", "Expect: 100-continue"), false},
		{"garbage", "HELLO\r\n\r\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.served.Load()
			fc := dialRawHTTP(t, f.Addr().String())
			fc.send(c.req)
			got := fc.reply()
			if served := f.served.Load() - before; served != map[bool]int64{true: 1, false: 0}[c.fast] {
				t.Errorf("fast path answered %d requests, want fast=%v", served, c.fast)
			}
			hc := dialRawHTTP(t, f.Addr().String())
			hc.send(pingReq)
			hc.reply()
			hc.send(c.req)
			if want := hc.reply(); sortedHead(got) != sortedHead(want) {
				t.Errorf("fast path replied\n%q\nnet/http replied\n%q", got, want)
			}
		})
	}
}

// sortedHead is reply with its header lines sorted: the fast path sends
// NSQ's header order, which our net/http path does not keep.
func sortedHead(reply string) string {
	head, body, _ := strings.Cut(reply, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	slices.Sort(lines[1:])
	return strings.Join(lines, "\r\n") + "\r\n\r\n" + body
}

// TestFastHTTPNSQBytes pins the replies NSQ v1.3 sends, byte for byte
// (integration/refdiff checks them against the reference binary).
func TestFastHTTPNSQBytes(t *testing.T) {
	n := startNSQD(t, fastTestOptions(t))
	c := dialRawHTTP(t, n.RealHTTPAddr().String())
	for _, tc := range []struct{ req, want string }{
		{postReq("/pub?topic=t1", "m"), "HTTP/1.1 200 OK\r\nX-Nsq-Content-Type: nsq; version=1.0\r\nDate: X\r\n" +
			"Content-Length: 2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOK"},
		{postReq("/pub?topic=t1", ""), "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n" +
			"X-Nsq-Content-Type: nsq; version=1.0\r\nDate: X\r\nContent-Length: 23\r\n\r\n{\"message\":\"MSG_EMPTY\"}"},
	} {
		c.send(tc.req)
		if got := c.reply(); got != tc.want {
			t.Errorf("%q: got\n%q\nwant\n%q", tc.req, got, tc.want)
		}
	}
}

// TestFastHTTPPipelined sends many requests in one write, a request in
// the middle that goes to net/http, and more behind it: every reply comes
// in order and every accepted message is in the topic.
func TestFastHTTPPipelined(t *testing.T) {
	n := startNSQD(t, fastTestOptions(t))
	f := startFast(t, n, nil)
	var reqs []string
	want := 0
	for i := 0; i < 300; i++ { // replies past fastMaxOut
		reqs = append(reqs, postReq("/pub?topic=pipe", fmt.Sprintf("m%d", i)))
		want++
		if i%30 == 0 {
			reqs = append(reqs, postReq("/mpub?topic=pipe", "a\nb\nc"))
			want += 3
		}
	}
	reqs = append(reqs, "GET /stats?format=json&topic=nope HTTP/1.1\r\nHost: t\r\n\r\n")
	for i := 0; i < 5; i++ {
		reqs = append(reqs, postReq("/pub?topic=pipe", "late"))
		want++
	}
	c := dialRawHTTP(t, f.Addr().String())
	go io.WriteString(c.c, strings.Join(reqs, ""))
	for i, r := range reqs {
		got := c.reply()
		if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
			t.Fatalf("reply %d to %q: %q", i, r, got)
		}
		if strings.HasPrefix(r, "POST") && !strings.HasSuffix(got, "\r\n\r\nOK") {
			t.Fatalf("reply %d to %q: %q", i, r, got)
		}
	}
	topic, err := n.GetTopic("pipe")
	if err != nil {
		t.Fatal(err)
	}
	if d := topic.Depth(); d != int64(want) {
		t.Fatalf("topic depth %d, want %d", d, want)
	}
	if f.handedOff.Load() != 1 {
		t.Fatalf("%d connections handed off, want 1", f.handedOff.Load())
	}
}

// TestFastHTTPRepliesBeforeClose: pipelined requests followed by half a
// request and the end of the input get their replies (their messages are
// published) before the daemon closes.
func TestFastHTTPRepliesBeforeClose(t *testing.T) {
	n := startNSQD(t, fastTestOptions(t))
	f := startFast(t, n, nil)
	for _, tail := range []string{"POST /pub?topic=rc HTTP/1.1\r\nHost: t\r\n",
		"POST /pub?topic=rc HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nabc"} {
		c := dialRawHTTP(t, f.Addr().String())
		c.send(postReq("/pub?topic=rc", "a") + postReq("/mpub?topic=rc", "b\nc") + tail)
		c.c.(*net.TCPConn).CloseWrite()
		for i := 0; i < 2; i++ {
			if r := c.reply(); !strings.HasSuffix(r, "\r\n\r\nOK") {
				t.Fatalf("reply %d: %q", i, r)
			}
		}
		if rest, err := io.ReadAll(c.br); err != nil || len(rest) != 0 {
			t.Fatalf("after the replies: %q, %v", rest, err)
		}
	}
	topic, _ := n.GetTopic("rc")
	if d := topic.Depth(); d != 6 {
		t.Fatalf("topic depth %d, want 6", d)
	}
}

// TestFastHTTPDelivers checks that what the fast path accepts is what a
// consumer receives, deferred messages included.
func TestFastHTTPDelivers(t *testing.T) {
	n := startNSQD(t, fastTestOptions(t))
	f := startFast(t, n, nil)
	sub := subscribe(t, n, "dl", "ch", 10)
	c := dialRawHTTP(t, f.Addr().String())
	c.send(postReq("/pub?topic=dl", "one") + postReq("/mpub?topic=dl", "two\nthree") +
		postReq("/pub?topic=dl&defer=1", "four"))
	for i := 0; i < 3; i++ {
		if r := c.reply(); !strings.HasSuffix(r, "\r\n\r\nOK") {
			t.Fatalf("reply %d: %q", i, r)
		}
	}
	got := map[string]bool{}
	for i := 0; i < 4; i++ {
		got[sub.readMsg().body] = true
	}
	for _, b := range []string{"one", "two", "three", "four"} {
		if !got[b] {
			t.Errorf("message %q not delivered; got %v", b, got)
		}
	}
}

// TestFastHTTPDeadlines: a connection that sends nothing, half a head or
// half a body is closed once its deadline passes, with no reply and
// nothing published.
func TestFastHTTPDeadlines(t *testing.T) {
	n := startNSQD(t, fastTestOptions(t))
	f := startFast(t, n, func(f *fastHTTP) {
		f.idle, f.head, f.body = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	})
	for _, c := range []struct{ name, send string }{
		{"idle", ""},
		{"idle after a reply", postReq("/pub?topic=dd", "ok")},
		{"half a head", "POST /pub?topic=dd HTTP/1.1\r\nHost: t\r\n"},
		{"half a body", "POST /pub?topic=dd HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := dialRawHTTP(t, f.Addr().String())
			rc.send(c.send)
			if strings.HasSuffix(c.send, "ok") {
				rc.reply()
			}
			rest, err := io.ReadAll(rc.br)
			if err != nil || len(rest) != 0 {
				t.Fatalf("want the daemon to close without a reply, got %q, %v", rest, err)
			}
		})
	}
	topic, _ := n.GetTopic("dd")
	if d := topic.Depth(); d != 1 {
		t.Fatalf("topic depth %d, want 1 (only the complete request)", d)
	}
}

// TestFastHTTPExit: Exit closes connections the fast path holds, idle or
// in the middle of a head, and returns.
func TestFastHTTPExit(t *testing.T) {
	n, err := New(fastTestOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	addr := n.RealHTTPAddr().String()
	eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "HTTP listener up")
	idle := dialRawHTTP(t, addr)
	idle.send(postReq("/pub?topic=ex", "m"))
	idle.reply()
	half := dialRawHTTP(t, addr)
	half.send("POST /pub?topic=ex HTTP/1.1\r\n")
	exited := make(chan struct{})
	go func() { n.Exit(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(ioWait):
		t.Fatal("Exit did not return")
	}
	if err := <-done; err != nil {
		t.Fatalf("Main: %v", err)
	}
	for _, c := range []*rawHTTPConn{idle, half} {
		// a reset is a close too: the daemon may close before reading all
		if rest, err := io.ReadAll(c.br); err != nil && !errors.Is(err, syscall.ECONNRESET) || len(rest) != 0 {
			t.Fatalf("connection not closed by Exit: %q, %v", rest, err)
		}
	}
}

// TestFastHTTPHandsOffWhenRequired: with --tls-required=true or
// --http-auth-required every /pub is net/http's, which answers it.
func TestFastHTTPHandsOffWhenRequired(t *testing.T) {
	for _, c := range []struct {
		name  string
		set   func(n *NSQD)
		reply string
	}{
		// set as the flags would, without a certificate or an auth server
		{"tls-required", func(n *NSQD) { n.tlsRequired = TLSRequiredAll }, "HTTP/1.1 403 "},
		{"http-auth-required", func(n *NSQD) { n.opts.HTTPAuthRequired = true }, "HTTP/1.1 401 "},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := startNSQD(t, fastTestOptions(t))
			c.set(n)
			f := startFast(t, n, nil)
			rc := dialRawHTTP(t, f.Addr().String())
			rc.send(postReq("/pub?topic=t1", "m"))
			if r := rc.reply(); !strings.HasPrefix(r, c.reply) {
				t.Fatalf("reply %q, want %q...", r, c.reply)
			}
			if f.served.Load() != 0 || f.handedOff.Load() != 1 {
				t.Fatalf("fast path answered %d, handed off %d", f.served.Load(), f.handedOff.Load())
			}
		})
	}
}
