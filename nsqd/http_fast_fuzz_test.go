package nsqd

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

var fastHeadSeeds = []string{
	"POST /pub?topic=t HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n",
	"POST /mpub?topic=t&binary=1 HTTP/1.1\r\nhost: h:1\r\ncontent-length: 0010\r\nConnection: keep-alive\r\n\r\n",
	"POST /pub HTTP/1.1\r\nHost: [::1]:4151\r\nX: \x80\tv \r\nContent-Length: 0\r\n\r\n",
	"POST /pub?topic=t HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
	"POST /pub?topic=t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST /pub?topic=t HTTP/1.1\nHost: h\n\n",
	"GET /pub HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST  /pub HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n",
	"POST /pub HTTP/1.1\r\nHost: h\r\n Content-Length: 1\r\n\r\n",
}

// FuzzFastHead holds every head the fast path accepts against net/http's
// own parser: net/http must accept it too and read the same method,
// target, Content-Length, Host and keep-alive, with no body framing of
// its own.
func FuzzFastHead(f *testing.F) {
	for _, s := range fastHeadSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		scanned := 0
		end := scanHead(in, &scanned)
		if end <= 0 {
			return
		}
		h, ok := parseFastHead(in[:end])
		if !ok {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in[:end])))
		if err != nil {
			t.Fatalf("fast path accepts %q, net/http: %v", in[:end], err)
		}
		switch {
		case req.Method != "POST" || req.Proto != "HTTP/1.1":
			t.Fatalf("%q: net/http reads %s %s", in[:end], req.Method, req.Proto)
		case req.RequestURI != string(h.target) || req.URL.RawQuery != string(h.query):
			t.Fatalf("%q: net/http reads target %q query %q, fast %q %q", in[:end], req.RequestURI, req.URL.RawQuery, h.target, h.query)
		case req.URL.Path != h.endpoint.path():
			t.Fatalf("%q: net/http reads path %q", in[:end], req.URL.Path)
		case req.ContentLength != h.contentLength || len(req.TransferEncoding) != 0:
			t.Fatalf("%q: net/http reads length %d %v, fast %d", in[:end], req.ContentLength, req.TransferEncoding, h.contentLength)
		case req.Host != string(h.host) || req.Close || req.Header.Get("Expect") != "":
			t.Fatalf("%q: net/http reads Host %q close %v", in[:end], req.Host, req.Close)
		}
	})
}

// FuzzHTTPSession runs arbitrary bytes through a real daemon's HTTP
// listener, fast path first: it must neither crash nor hang, and what it
// sends back is HTTP.
func FuzzHTTPSession(f *testing.F) {
	n := fuzzNSQD(f)
	for _, s := range hostileHTTP {
		f.Add([]byte(s))
	}
	addr := n.RealHTTPAddr().String()
	f.Fuzz(func(t *testing.T, in []byte) {
		httpSession(t, addr, in)
	})
}

// hostileHTTP are inputs a broken or hostile client may send.
var hostileHTTP = []string{
	postReq("/pub?topic=fz", "m") + postReq("/mpub?topic=fz", "a\nb"),
	"POST /pub?topic=fz HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999\r\n\r\nm",
	"POST /pub?topic=fz HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
	"POST /mpub?topic=fz&binary=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n\x7f\xff\xff\xff\x00\x00\x00\x01",
	"POST /pub?topic=fz HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", 400) + "\r\nm",
	"POST /pub?topic=fz HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
	"POST /pub?topic=fz HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n",
	"POST /pub?topic=\x00 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nm",
	"POST /pub?topic=fz HTTP/1.1\r\r\nHost: h\r\n\r\n",
	"\r\n\r\n\r\n",
	"POST /pub?topic=fz HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nm",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	strings.Repeat("POST /pub?topic=fz HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 50),
}

// httpSession sends in on a fresh connection, half-closes, and reads
// until the daemon closes; what came back must be HTTP replies.
func httpSession(t *testing.T, addr string, in []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("daemon stopped accepting: %v", err)
	}
	tc := conn.(*net.TCPConn)
	defer func() {
		tc.SetLinger(0)
		tc.Close()
	}()
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		tc.Write(in)
		tc.CloseWrite()
	}()
	out, err := io.ReadAll(tc)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("daemon did not end the session within 5 s of the input's end")
	}
	if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.")) {
		t.Fatalf("reply %q is not HTTP", out)
	}
}

// TestFastHTTPHostile sends each hostile input, then checks the daemon
// still answers.
func TestFastHTTPHostile(t *testing.T) {
	n := startNSQD(t, fastTestOptions(t))
	addr := n.RealHTTPAddr().String()
	for _, in := range hostileHTTP {
		httpSession(t, addr, []byte(in))
	}
	c := dialRawHTTP(t, addr)
	c.send(postReq("/pub?topic=after", "m"))
	if r := c.reply(); !strings.HasSuffix(r, "\r\n\r\nOK") {
		t.Fatalf("after hostile inputs: %q", r)
	}
}
