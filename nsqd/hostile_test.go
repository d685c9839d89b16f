package nsqd

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/dropin/nsq/internal/protocol"
)

// hostileOptions: small limits and a 2 s client timeout (1 s heartbeat)
// so stalled connections are dropped quickly.
func hostileOptions(t *testing.T) *Options {
	opts := testOptions(t)
	opts.MaxMsgSize = 1024
	opts.MaxBodySize = 8192
	opts.ClientTimeout = 2 * time.Second
	opts.MaxHeartbeatInterval = 10 * time.Second
	return opts
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		}
	}
	return b
}

func identifyBody(fields map[string]any) []byte {
	b, _ := json.Marshal(fields)
	return cat("IDENTIFY\n", sized(b))
}

// hostileTCP are inputs sent after the magic and the start of the first
// error frame each must get ("" = the daemon closes without one).
var hostileTCP = []struct {
	name, want string
	input      []byte
}{
	{"unknown command", "E_INVALID invalid command GARBAGE", []byte("GARBAGE\n")},
	{"empty line", "E_INVALID invalid command", []byte("\n")},
	{"NUL bytes", "E_INVALID invalid command", []byte("\x00\x00\x00\n")},
	{"lower case", "E_INVALID invalid command pub", []byte("pub t\n")},
	{"line longer than the buffer", "", bytes.Repeat([]byte("A"), 70<<10)},
	{"PUB no topic", "E_INVALID PUB insufficient number of parameters", []byte("PUB\n")},
	{"PUB bad topic", "E_BAD_TOPIC PUB topic name", cat("PUB bad!topic\n", sized([]byte("x")))},
	{"PUB long topic", "E_BAD_TOPIC PUB topic name", cat("PUB "+strings.Repeat("t", 65)+"\n", sized([]byte("x")))},
	{"PUB size 0", "E_BAD_MESSAGE PUB invalid message body size 0", cat("PUB t\n", u32(0))},
	{"PUB size -1", "E_BAD_MESSAGE PUB invalid message body size -1", cat("PUB t\n", u32(0xffffffff))},
	{"PUB too big", "E_BAD_MESSAGE PUB message too big 1025 > 1024", cat("PUB t\n", u32(1025))},
	{"PUB size 2^31-1", "E_BAD_MESSAGE PUB message too big", cat("PUB t\n", u32(1<<31-1))},
	{"PUB truncated body", "E_BAD_MESSAGE PUB failed to read message body", cat("PUB t\n", u32(10), "abc")},
	{"PUB truncated size", "E_BAD_MESSAGE PUB failed to read message body size", cat("PUB t\n", "\x00\x00")},
	{"DPUB no timeout", "E_INVALID DPUB insufficient number of parameters", []byte("DPUB t\n")},
	{"DPUB negative", "E_INVALID DPUB could not parse timeout -1", cat("DPUB t -1\n", sized([]byte("x")))},
	{"DPUB out of range", "E_INVALID DPUB timeout 3600001 out of range", cat("DPUB t 3600001\n", sized([]byte("x")))},
	{"DPUB 2^64", "E_INVALID DPUB could not parse timeout", cat("DPUB t 18446744073709551616\n", sized([]byte("x")))},
	{"DPUB max uint64", "E_INVALID DPUB timeout 18446744073709551615 out of range", cat("DPUB t 18446744073709551615\n", sized([]byte("x")))},
	{"MPUB no topic", "E_INVALID MPUB insufficient number of parameters", []byte("MPUB\n")},
	{"MPUB bad topic", "E_BAD_TOPIC", cat("MPUB bad!topic\n", sized(mpubBody("a")))},
	{"MPUB size 0", "E_BAD_BODY MPUB invalid body size 0", cat("MPUB t\n", u32(0))},
	{"MPUB too big", "E_BAD_BODY MPUB body too big 8193 > 8192", cat("MPUB t\n", u32(8193))},
	{"MPUB count 0", "E_BAD_BODY MPUB invalid message count 0", cat("MPUB t\n", u32(8), u32(0))},
	{"MPUB count huge", "E_BAD_BODY MPUB invalid message count", cat("MPUB t\n", u32(8), u32(1<<31-1))},
	{"MPUB message size 0", "E_BAD_MESSAGE MPUB invalid message(0) body size 0", cat("MPUB t\n", u32(8), u32(1), u32(0))},
	{"MPUB message too big", "E_BAD_MESSAGE MPUB message too big 1025 > 1024", cat("MPUB t\n", u32(8192), u32(1), u32(1025))},
	{"MPUB truncated", "E_BAD_MESSAGE MPUB failed to read message body", cat("MPUB t\n", u32(100), u32(1), u32(50), "abc")},
	{"MPUB header declaring 5 MB", "E_BAD_BODY MPUB body too big", cat("MPUB t\n", u32(5<<20), u32(1000000))},
	{"IDENTIFY bad JSON", "E_BAD_BODY IDENTIFY failed to decode JSON body", cat("IDENTIFY\n", sized([]byte("{nope")))},
	{"IDENTIFY wrong type", "E_BAD_BODY IDENTIFY failed to decode JSON body", cat("IDENTIFY\n", sized([]byte(`{"heartbeat_interval":"x"}`)))},
	{"IDENTIFY size 0", "E_BAD_BODY IDENTIFY invalid body size 0", cat("IDENTIFY\n", u32(0))},
	{"IDENTIFY too big", "E_BAD_BODY IDENTIFY body too big", cat("IDENTIFY\n", u32(8193))},
	{"IDENTIFY heartbeat overflow", "E_BAD_BODY IDENTIFY heartbeat interval (18446744078710) is invalid", identifyBody(map[string]any{"heartbeat_interval": 18446744078710})},
	{"IDENTIFY heartbeat too long", "E_BAD_BODY IDENTIFY heartbeat interval (10001) is invalid", identifyBody(map[string]any{"heartbeat_interval": 10001})},
	{"IDENTIFY msg timeout overflow", "E_BAD_BODY IDENTIFY msg timeout (18446744078710) is invalid", identifyBody(map[string]any{"msg_timeout": 18446744078710})},
	{"IDENTIFY output buffer huge", "E_BAD_BODY IDENTIFY output buffer size (1000000000) is invalid", identifyBody(map[string]any{"output_buffer_size": 1000000000})},
	{"IDENTIFY output timeout overflow", "E_BAD_BODY IDENTIFY output buffer timeout (18446744078710) is invalid", identifyBody(map[string]any{"output_buffer_timeout": 18446744078710})},
	{"IDENTIFY sample rate 100", "E_BAD_BODY IDENTIFY sample rate (100) is invalid", identifyBody(map[string]any{"sample_rate": 100})},
	{"IDENTIFY deflate and snappy", "E_IDENTIFY_FAILED cannot enable both deflate and snappy compression", identifyBody(map[string]any{"feature_negotiation": true, "deflate": true, "snappy": true})},
	{"IDENTIFY twice after SUB", "E_INVALID cannot IDENTIFY in current state", cat("SUB t c\n", identifyBody(map[string]any{}))},
	{"SUB no channel", "E_INVALID SUB insufficient number of parameters", []byte("SUB t\n")},
	{"SUB bad topic", "E_BAD_TOPIC SUB topic name", []byte("SUB bad!t c\n")},
	{"SUB bad channel", "E_BAD_CHANNEL SUB channel name", []byte("SUB t bad!c\n")},
	{"SUB twice", "E_INVALID cannot SUB in current state", []byte("SUB t c\nSUB t c\n")},
	{"SUB with heartbeats off", "E_INVALID cannot SUB with heartbeats disabled", cat(identifyBody(map[string]any{"heartbeat_interval": -1}), "SUB t c\n")},
	{"RDY before SUB", "E_INVALID cannot RDY in current state", []byte("RDY 1\n")},
	{"RDY too many", "E_INVALID RDY count 2501 out of range 0-2500", []byte("SUB t c\nRDY 2501\n")},
	{"RDY 2^64", "E_INVALID RDY could not parse count", []byte("SUB t c\nRDY 18446744073709551616\n")},
	{"RDY negative", "E_INVALID RDY could not parse count -1", []byte("SUB t c\nRDY -1\n")},
	{"FIN before SUB", "E_INVALID cannot FIN in current state", []byte("FIN 0123456789abcdef\n")},
	{"FIN short ID", "E_INVALID invalid message ID", []byte("SUB t c\nFIN 0123\n")},
	{"FIN no ID", "E_INVALID FIN insufficient number of params", []byte("SUB t c\nFIN\n")},
	{"FIN unknown ID", "E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight", []byte("SUB t c\nFIN 0123456789abcdef\n")},
	{"REQ unknown ID", "E_REQ_FAILED REQ 0123456789abcdef failed ID not in flight", []byte("SUB t c\nREQ 0123456789abcdef 0\n")},
	{"REQ bad timeout", "E_INVALID REQ could not parse timeout x", []byte("SUB t c\nREQ 0123456789abcdef x\n")},
	{"REQ no timeout", "E_INVALID REQ insufficient number of params", []byte("SUB t c\nREQ 0123456789abcdef\n")},
	{"TOUCH unknown ID", "E_TOUCH_FAILED TOUCH 0123456789abcdef failed ID not in flight", []byte("SUB t c\nTOUCH 0123456789abcdef\n")},
	{"CLS before SUB", "E_INVALID cannot CLS in current state", []byte("CLS\n")},
	{"AUTH disabled", "E_AUTH_DISABLED AUTH disabled", cat("AUTH\n", sized([]byte("secret")))},
	{"AUTH with parameters", "E_INVALID AUTH invalid number of parameters", []byte("AUTH x\n")},
	{"AUTH after SUB", "E_INVALID cannot AUTH in current state", cat("SUB t c\nAUTH\n", sized([]byte("s")))},
}

// readError reads frames until an error frame or the end of the
// connection; it returns the error text ("" when closed without one).
func (c *testConn) readError() string {
	c.tb.Helper()
	for {
		f, err := c.readFrameHB(false)
		if err != nil {
			return ""
		}
		if f.typ == protocol.FrameTypeError {
			return string(f.data)
		}
	}
}

// hostileKeep publishes n messages to topic keep (channel c) before the
// attacks and checks at the end that all are still there.
func hostileKeep(t *testing.T, n *NSQD, count int) func() {
	httpDo(t, n, "POST", "/topic/create?topic=keep", "")
	httpDo(t, n, "POST", "/channel/create?topic=keep&channel=c", "")
	var want []string
	for i := 0; i < count; i++ {
		want = append(want, fmt.Sprintf("keep-%03d", i))
	}
	publish(t, n, "keep", want...)
	return func() {
		t.Helper()
		sub := subscribe(t, n, "keep", "c", count)
		var got []string
		for range want {
			m := sub.readMsg()
			got = append(got, m.body)
			sub.cmd("FIN " + m.id)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("accepted messages changed: %v", got)
		}
	}
}

// canary checks the daemon still serves a well-behaved client.
func canary(t *testing.T, n *NSQD) {
	t.Helper()
	c := dial(t, n)
	c.cmd("PUB canary", []byte("x"))
	c.expectOK()
	c.conn.Close()
	if code, body, _ := httpDo(t, n, "GET", "/ping", ""); code != 200 || body != "OK" {
		t.Fatalf("/ping after hostile input: %d %s", code, body)
	}
}

func TestHostileTCP(t *testing.T) {
	n := startNSQD(t, hostileOptions(t))
	check := hostileKeep(t, n, 20)
	for _, tc := range hostileTCP {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, n)
			c.send(tc.input)
			if got := c.readError(); !strings.HasPrefix(got, tc.want) || (tc.want == "" && got != "") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			canary(t, n)
		})
	}
	check()
}

// TestHostileTCPSpecial: attacks that need more than one write or more
// than one connection.
func TestHostileTCPSpecial(t *testing.T) {
	n := startNSQD(t, hostileOptions(t))
	check := hostileKeep(t, n, 20)
	raw := func(t *testing.T) net.Conn {
		conn, err := net.Dial("tcp", n.RealTCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	// closedWithin waits for the daemon to close conn (reading and
	// discarding) and fails after limit.
	closedWithin := func(t *testing.T, conn net.Conn, limit time.Duration) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(limit))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection not closed within %s", limit)
		}
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"bad magic", func(t *testing.T) {
			conn := raw(t)
			conn.Write([]byte("  V3"))
			c := &testConn{tb: t, conn: conn, r: newReader(conn)}
			c.expectError("E_BAD_PROTOCOL")
		}},
		{"TLS ClientHello instead of magic", func(t *testing.T) {
			conn := raw(t)
			conn.Write([]byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage"))
			c := &testConn{tb: t, conn: conn, r: newReader(conn)}
			c.expectError("E_BAD_PROTOCOL")
		}},
		{"HTTP request to the TCP port", func(t *testing.T) {
			conn := raw(t)
			conn.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
			c := &testConn{tb: t, conn: conn, r: newReader(conn)}
			c.expectError("E_BAD_PROTOCOL")
		}},
		{"slowloris before the magic", func(t *testing.T) {
			conn := raw(t)
			conn.Write([]byte("  "))
			closedWithin(t, conn, 5*time.Second) // --client-timeout 2 s
		}},
		{"slowloris in a command line", func(t *testing.T) {
			c := dial(t, n)
			c.send([]byte("PU"))
			closedWithin(t, c.conn, 5*time.Second) // two 1 s heartbeats
		}},
		{"slowloris in a body size", func(t *testing.T) {
			c := dial(t, n)
			c.send([]byte("PUB t\n\x00\x00"))
			closedWithin(t, c.conn, 5*time.Second)
		}},
		{"slowloris in a body", func(t *testing.T) {
			c := dial(t, n)
			c.send(cat("PUB t\n", u32(100), "abc"))
			closedWithin(t, c.conn, 5*time.Second)
		}},
		{"slowloris in an MPUB", func(t *testing.T) {
			c := dial(t, n)
			c.send(cat("MPUB t\n", u32(100), u32(2), u32(3), "abc"))
			closedWithin(t, c.conn, 5*time.Second)
		}},
		{"slowloris in IDENTIFY", func(t *testing.T) {
			c := dial(t, n)
			c.send(cat("IDENTIFY\n", u32(100), "{"))
			closedWithin(t, c.conn, 5*time.Second)
		}},
		{"subscriber that never reads", func(t *testing.T) {
			subscribe(t, n, "stall", "c", 2500)
			big := strings.Repeat("s", 1000)
			bodies := make([]string, 300)
			for i := range bodies {
				bodies[i] = big
			}
			publish(t, n, "stall", bodies...)
			// its pump blocks writing; the canary is served meanwhile
		}},
		{"RDY flood", func(t *testing.T) {
			c := subscribe(t, n, "flood", "c", 0)
			c.send(bytes.Repeat([]byte("RDY 1\nRDY 2500\nRDY 0\n"), 10000))
			c.cmd("NOP")
			c.cmd("RDY 1")
			publish(t, n, "flood", "after the flood")
			if m := c.readMsg(); m.body != "after the flood" {
				t.Fatalf("got %q", m.body)
			}
		}},
		{"NOP flood", func(t *testing.T) {
			c := dial(t, n)
			c.send(bytes.Repeat([]byte("NOP\n"), 100000))
			c.cmd("PUB t", []byte("x"))
			c.expectOK()
		}},
		{"foreign FIN, REQ and TOUCH", func(t *testing.T) {
			owner := subscribe(t, n, "foreign", "c", 1)
			other := subscribe(t, n, "foreign", "c", 0)
			publish(t, n, "foreign", "mine")
			m := owner.readMsg()
			for _, cmd := range []string{"TOUCH", "REQ", "FIN"} {
				line := cmd + " " + m.id
				if cmd == "REQ" {
					line += " 0"
				}
				other.cmd(line)
				want := fmt.Sprintf("E_%s_FAILED %s %s failed client does not own message", cmd, cmd, m.id)
				other.expectError(want)
			}
			owner.cmd("FIN " + m.id)
			owner.cmd("NOP")
			eventually(t, func() bool { return channelStatsOf(t, n, "foreign", "c").InFlightCount == 0 }, "owner's FIN counted")
		}},
		{"deflate bomb", func(t *testing.T) {
			c := dial(t, n)
			c.cmd("IDENTIFY", []byte(`{"feature_negotiation":true,"deflate":true}`))
			var comp bytes.Buffer
			fw, _ := flate.NewWriter(&comp, flate.BestCompression)
			fw.Write(bytes.Repeat([]byte("A"), 16<<20)) // 16 MB, no newline
			fw.Close()
			go c.conn.Write(comp.Bytes())
			closedWithin(t, c.conn, 10*time.Second)
		}},
		{"snappy bomb", func(t *testing.T) {
			c := dial(t, n)
			c.cmd("IDENTIFY", []byte(`{"feature_negotiation":true,"snappy":true}`))
			var comp bytes.Buffer
			sw := snappy.NewBufferedWriter(&comp)
			sw.Write(bytes.Repeat([]byte("A"), 16<<20))
			sw.Close()
			go c.conn.Write(comp.Bytes())
			closedWithin(t, c.conn, 10*time.Second)
		}},
		{"snappy garbage", func(t *testing.T) {
			c := dial(t, n)
			c.cmd("IDENTIFY", []byte(`{"feature_negotiation":true,"snappy":true}`))
			c.send(bytes.Repeat([]byte{0xff, 0x06, 0, 0}, 100))
			closedWithin(t, c.conn, 5*time.Second)
		}},
		{"deflate garbage", func(t *testing.T) {
			c := dial(t, n)
			c.cmd("IDENTIFY", []byte(`{"feature_negotiation":true,"deflate":true}`))
			c.send(bytes.Repeat([]byte{0xff}, 100))
			closedWithin(t, c.conn, 5*time.Second)
		}},
		{"TLS requested without TLS", func(t *testing.T) {
			c := dial(t, n)
			f := c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
			if !strings.Contains(string(f.data), `"tls_v1":false`) {
				t.Fatalf("IDENTIFY tls_v1 without a certificate: %s", f)
			}
			c.send([]byte("\x16\x03\x01\x00\x05hello\n"))
			if got := c.readError(); !strings.HasPrefix(got, "E_INVALID invalid command") {
				t.Fatalf("TLS bytes on a plain connection: %q", got)
			}
		}},
	}
	t.Run("group", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if strings.HasPrefix(tc.name, "slowloris") {
					t.Parallel() // each waits for the daemon's timeout
				}
				tc.run(t)
				canary(t, n)
			})
		}
	})
	check()
}

// TestStalledConsumerDoesNotSlowOthers: a subscriber that stops reading
// holds only what it already took; another subscriber of the same
// channel receives everything else.
func TestStalledConsumerDoesNotSlowOthers(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	stalled := subscribe(t, n, "stall", "c", 2500) // never reads
	stalled.conn.(*net.TCPConn).SetReadBuffer(4096)
	const total = 2000
	big := strings.Repeat("s", 10000)
	bodies := make([]string, total)
	for i := range bodies {
		bodies[i] = big
	}
	publish(t, n, "stall", bodies...)
	healthy := subscribe(t, n, "stall", "c", 100)
	got := 0
	for {
		var stuck int
		for _, cl := range channelStatsOf(t, n, "stall", "c").Clients {
			if cl.RemoteAddress == stalled.conn.LocalAddr().String() {
				stuck = int(cl.InFlightCount)
			}
		}
		if got+stuck >= total {
			break
		}
		m := healthy.readMsg()
		healthy.cmd("FIN " + m.id)
		got++
	}
	t.Logf("healthy subscriber received %d of %d; %d stuck with the stalled one", got, total, total-got)
	if got == 0 {
		t.Fatal("the healthy subscriber received nothing")
	}
}

// TestHostileHTTP: bad requests to the HTTP API each get their error.
func TestHostileHTTP(t *testing.T) {
	n := startNSQD(t, hostileOptions(t))
	check := hostileKeep(t, n, 20)
	httpDo(t, n, "POST", "/topic/create?topic=t", "")
	cases := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/pub", "x", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/pub?topic=bad!t", "x", 400, "INVALID_TOPIC"},
		{"POST", "/pub?topic=t", "", 400, "MSG_EMPTY"},
		{"POST", "/pub?topic=t", strings.Repeat("x", 1025), 413, "MSG_TOO_BIG"},
		{"POST", "/pub?topic=t&defer=9223372036854775807", "x", 400, "INVALID_DEFER"},
		{"POST", "/pub?topic=t&defer=-1", "x", 400, "INVALID_DEFER"},
		{"POST", "/pub?topic=t&defer=1e3", "x", 400, "INVALID_DEFER"},
		{"POST", "/pub?topic=t&defer=3600001", "x", 400, "INVALID_DEFER"},
		{"POST", "/pub?topic=%zz", "x", 400, "INVALID_REQUEST"},
		{"POST", "/mpub?topic=t", strings.Repeat("x", 8193), 413, "BODY_TOO_BIG"},
		{"POST", "/mpub?topic=t", strings.Repeat("x", 1025) + "\n", 413, "MSG_TOO_BIG"},
		{"POST", "/mpub?topic=t&binary=true", string(u32(0)), 413, "BAD_BODY"},
		{"POST", "/mpub?topic=t&binary=true", string(cat(u32(1000000))), 413, "BAD_BODY"},
		{"POST", "/mpub?topic=t&binary=true", string(cat(u32(1), u32(0))), 413, "BAD_MESSAGE"},
		{"POST", "/mpub?topic=t&binary=true", string(cat(u32(1), u32(1025))), 413, "BAD_MESSAGE"},
		{"POST", "/mpub?topic=t&binary=true", string(cat(u32(2), u32(1), "a", u32(5), "ab")), 413, "BAD_MESSAGE"},
		{"POST", "/channel/create?topic=t", "", 400, "MISSING_ARG_CHANNEL"},
		{"POST", "/channel/create?topic=t&channel=bad!c", "", 400, "INVALID_ARG_CHANNEL"},
		{"POST", "/channel/create?topic=nope&channel=c", "", 404, "TOPIC_NOT_FOUND"},
		{"POST", "/channel/delete?topic=t&channel=nope", "", 404, "CHANNEL_NOT_FOUND"},
		{"POST", "/topic/delete?topic=nope", "", 404, "TOPIC_NOT_FOUND"},
		{"POST", "/topic/empty?topic=bad!t", "", 400, "INVALID_TOPIC"},
		{"GET", "/config/nope", "", 400, "INVALID_OPTION"},
		{"PUT", "/config/log_level", "loud", 400, "INVALID_VALUE"},
		{"PUT", "/config/nsqlookupd_tcp_addresses", "not json", 400, "INVALID_VALUE"},
		{"GET", "/pub?topic=t", "", 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/nope", "", 404, "NOT_FOUND"},
		{"PUT", "/debug/setblockrate?rate=99999999999999999999", "", 400, "invalid block rate"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, body, _ := httpDo(t, n, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s, want %d %s", code, body, tc.code, tc.want)
			}
		})
	}
	rawHTTP := []struct{ name, input, want string }{
		{"garbage request line", "GARBAGE\r\n\r\n", "400 Bad Request"},
		{"TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", "400 Bad Request"},
		{"header too large", "GET /ping HTTP/1.1\r\nX: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", "431"},
	}
	for _, tc := range rawHTTP {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", n.RealHTTPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go conn.Write([]byte(tc.input))
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			reply, _ := io.ReadAll(conn)
			if !strings.Contains(string(reply), tc.want) {
				t.Errorf("reply %q, want %q", reply, tc.want)
			}
		})
	}
	// a request whose headers or body never finish does not hold up others
	for _, stall := range []string{"GET /ping HTTP/1.1\r\nHost: x\r\n", "POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"} {
		conn, err := net.Dial("tcp", n.RealHTTPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte(stall))
	}
	if code, _, _ := httpDo(t, n, "GET", "/ping", ""); code != http.StatusOK {
		t.Fatalf("/ping while requests stall: %d", code)
	}
	canary(t, n)
	check()
}
