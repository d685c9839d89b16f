package refdiff

import (
	"bufio"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// rawPost is a POST with Host, extra header lines and Content-Length.
func rawPost(target, body string, extra ...string) string {
	return "POST " + target + " HTTP/1.1\r\nHost: t\r\n" + strings.Join(append(extra, ""), "\r\n") +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// lastPing ends every exchange: its reply shows whether the connection
// was still open, then the daemon closes it.
const lastPing = "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"

// rawExchange sends raw and then lastPing on one connection and returns
// every reply, byte for byte (Date aside), up to the daemon's close.
func rawExchange(t *testing.T, addr, raw string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go io.WriteString(c, raw+lastPing)
	br := bufio.NewReader(c)
	var replies []string
	for len(replies) < 1000 {
		r, err := testutil.ReadRawHTTPReply(br)
		if r != "" {
			replies = append(replies, r)
		}
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("no close after %q: %v", replies, err)
			}
			break
		}
	}
	return replies
}

const netHTTPTextOrder = "Content-Type: text/plain; charset=utf-8\r\nX-Nsq-Content-Type:"

func sortedHead(reply string) string {
	head, body, _ := strings.Cut(reply, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	slices.Sort(lines[1:])
	return strings.Join(lines, "\r\n") + "\r\n\r\n" + body
}

// TestNSQDHTTPRaw sends /pub and /mpub requests as raw bytes, alone and
// pipelined on one keep-alive connection, and compares the replies byte
// for byte: our fast path (nsqd/http_fast.go) answers most of them, and
// must send what NSQ's net/http sends, keep-alive included.
func TestNSQDHTTPRaw(t *testing.T) {
	ref, our, _ := nsqdPair(t, nsqdFlags...)
	big := strings.Repeat("x", 101)
	cases := []struct{ name, raw string }{
		{"pub ok", rawPost("/pub?topic=t1", "hello")},
		{"pub empty", rawPost("/pub?topic=t1", "")},
		{"pub too big", rawPost("/pub?topic=t1", big)},
		{"pub bad topic", rawPost("/pub?topic=bad!", "m")},
		{"pub no topic", rawPost("/pub", "m")},
		{"pub bad query", rawPost("/pub?topic=%zz", "m")},
		{"pub semicolon", rawPost("/pub?topic=t1;x=1", "m")},
		{"pub defer", rawPost("/pub?topic=t1&defer=10000", "m") + rawPost("/pub?topic=t1&defer=x", "m")},
		{"pub headers", "POST /pub?topic=t1 HTTP/1.1\r\nhost: t\r\nUser-Agent: u\r\nConnection: keep-alive\r\ncontent-length: 01\r\n\r\nm"},
		{"pub connection close", rawPost("/pub?topic=t1", "m", "Connection: close")},
		{"pub HTTP/1.0", strings.Replace(rawPost("/pub?topic=t1", "m"), "HTTP/1.1", "HTTP/1.0", 1)},
		{"pub chunked", "POST /pub?topic=t1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nm\r\n0\r\n\r\n"},
		{"pub expect", rawPost("/pub?topic=t1", "m", "Expect: 100-continue")},
		{"pub no host", "POST /pub?topic=t1 HTTP/1.1\r\nContent-Length: 1\r\n\r\nm"},
		{"pub bare LF", "POST /pub?topic=t1 HTTP/1.1\nHost: t\nContent-Length: 1\n\nm"},
		{"mpub text", rawPost("/mpub?topic=t2", "a\nb\n\nc\n")},
		{"mpub line too big", rawPost("/mpub?topic=t2", "a\n"+big+"\n")},
		{"mpub body too big", rawPost("/mpub?topic=t2", strings.Repeat("z\n", 201))},
		{"mpub binary", rawPost("/mpub?topic=t2&binary=true", binaryMPUB("x", "yy")+"zz")},
		{"mpub binary truncated", rawPost("/mpub?topic=t2&binary=true", binaryMPUB("abc")[:8])},
		{"pipelined", rawPost("/pub?topic=t1", "a") + rawPost("/mpub?topic=t2", "b\nc") +
			"GET /info HTTP/1.1\r\nHost: t\r\n\r\n" + rawPost("/pub?topic=t1", "") + rawPost("/pub?topic=t1", "d")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rr := rawExchange(t, ref.http, c.raw)
			or := rawExchange(t, our.http, c.raw)
			if len(rr) != len(or) {
				t.Fatalf("ref sent %d replies, our %d:\nref %q\nour %q", len(rr), len(or), rr, or)
			}
			for i := range rr {
				if strings.Contains(rr[i], `"version"`) {
					continue // /info: compared field by field in TestNSQDHTTP
				}
				if rr[i] == or[i] {
					continue
				}
				// our net/http path sets a text Content-Type itself, so it
				// comes before X-Nsq-Content-Type: the same headers in
				// another order. The fast path's replies must be exact.
				if strings.Contains(or[i], netHTTPTextOrder) && sortedHead(rr[i]) == sortedHead(or[i]) {
					continue
				}
				t.Errorf("reply %d:\nref %q\nour %q", i, rr[i], or[i])
			}
		})
	}
}
