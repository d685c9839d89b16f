package nsqlookupd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// stillServing fails unless n answers a fresh TCP PING and HTTP /ping.
func stillServing(tb testing.TB, n *NSQLookupd) {
	tb.Helper()
	p := dial(tb, n)
	if got := p.cmd("PING"); got != "OK" {
		tb.Fatalf("PING on a new connection: %q", got)
	}
	if r := request(tb, n, "GET", "/ping"); r.status != 200 || r.body != "OK" {
		tb.Fatalf("GET /ping: %d %q", r.status, r.body)
	}
}

func TestBadMagic(t *testing.T) {
	n := mustStart(t)
	for _, magic := range []string{"  V2", "XXXX", "  v1", "V1  ", "\x00\x00\x00\x00"} {
		t.Run(fmt.Sprintf("%q", magic), func(t *testing.T) {
			p := dialRaw(t, n)
			p.write([]byte(magic))
			got, err := io.ReadAll(p.r)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			want := append([]byte{0, 0, 0, 14}, "E_BAD_PROTOCOL"...)
			if !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q then close", got, want)
			}
			stillServing(t, n)
		})
	}
}

func TestShortMagicThenClose(t *testing.T) {
	n := mustStart(t)
	p := dialRaw(t, n)
	p.write([]byte(" V"))
	p.conn.(*net.TCPConn).CloseWrite()
	p.expectClosed()
	stillServing(t, n)
}

func TestReplyFramingHasNoFrameType(t *testing.T) {
	n := mustStart(t)
	p := dial(t, n)
	p.write([]byte("PING\n"))
	got := make([]byte, 6)
	if _, err := io.ReadFull(p.r, got); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 2, 'O', 'K'}; !bytes.Equal(got, want) {
		t.Fatalf("PING reply bytes %v, want %v", got, want)
	}
}

func TestLineTrimming(t *testing.T) {
	n := mustStart(t)
	p := dial(t, n)
	for _, line := range []string{"PING\r\n", "  PING  \n", "\tPING\r\n", "PING" + strings.Repeat(" ", 3*readBufferSize) + "\n"} {
		p.write([]byte(line))
		if got := p.mustReply(); got != "OK" {
			t.Fatalf("%q: got %q", line, got)
		}
	}
	p.identify(peerInfoFor("b", 1, 2))
	p.mustOK("  REGISTER t c \r")
	if got := channelsOf(t, n, "t"); got != "c" {
		t.Fatalf("channels after trimmed REGISTER: %q", got)
	}
}

func TestCommandErrors(t *testing.T) {
	n := mustStart(t)
	long65 := strings.Repeat("x", 65)
	cases := []struct {
		name     string
		identify bool
		send     string
		want     string
	}{
		{"lower case", false, "ping\n", "E_INVALID invalid command ping"},
		{"unknown", false, "FOO bar\n", "E_INVALID invalid command FOO"},
		{"empty line", false, "\n", "E_INVALID invalid command "},
		{"blank line", false, " \t \r\n", "E_INVALID invalid command "},
		{"nsqd command", true, "SUB t c\n", "E_INVALID invalid command SUB"},
		{"register before identify", false, "REGISTER t\n", "E_INVALID client must IDENTIFY"},
		{"unregister before identify", false, "UNREGISTER t c\n", "E_INVALID client must IDENTIFY"},
		{"register bare before identify", false, "REGISTER\n", "E_INVALID client must IDENTIFY"},
		{"register no params", true, "REGISTER\n", "E_INVALID REGISTER insufficient number of params"},
		{"register trailing space", true, "REGISTER \n", "E_INVALID REGISTER insufficient number of params"},
		{"unregister no params", true, "UNREGISTER\n", "E_INVALID UNREGISTER insufficient number of params"},
		{"register bad topic", true, "REGISTER bad!topic\n", "E_BAD_TOPIC REGISTER topic name 'bad!topic' is not valid"},
		{"register empty topic", true, "REGISTER  c\n", "E_BAD_TOPIC REGISTER topic name '' is not valid"},
		{"register long topic", true, "REGISTER " + long65 + "\n", "E_BAD_TOPIC REGISTER topic name '" + long65 + "' is not valid"},
		{"unregister bad topic", true, "UNREGISTER a:b c\n", "E_BAD_TOPIC UNREGISTER topic name 'a:b' is not valid"},
		{"register bad channel", true, "REGISTER t bad/chan\n", "E_BAD_CHANNEL REGISTER channel name 'bad/chan' is not valid"},
		{"register long channel", true, "REGISTER t " + long65 + "\n", "E_BAD_CHANNEL REGISTER channel name '" + long65 + "' is not valid"},
		{"unregister bad channel", true, "UNREGISTER t #ephemeral\n", "E_BAD_CHANNEL UNREGISTER channel name '#ephemeral' is not valid"},
		{"identify again", true, "IDENTIFY\n", "E_INVALID cannot IDENTIFY again"},
		{"line too long", false, strings.Repeat("A", maxLineLength), fmt.Sprintf("E_INVALID command line longer than %d bytes", maxLineLength-1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dial(t, n)
			if c.identify {
				p.identify(peerInfoFor("b", 1, 2))
				p.mustOK("REGISTER keep")
			}
			p.write([]byte(c.send))
			if got := p.mustReply(); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			p.expectClosed()
			if c.identify {
				// the failed connection's registrations went with it
				eventually(t, func() bool { return producerAddrs(t, n, "keep") == "" }, "producer of keep not removed")
			}
			stillServing(t, n)
		})
	}
}

func TestIdentifyBodyErrors(t *testing.T) {
	n := mustStart(t)
	size := func(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
	withBody := func(body string) []byte { return append(size(int32(len(body))), body...) }
	full := peerInfoFor("b", 4150, 4151)
	without := func(key string, zero any) []byte {
		m := map[string]any{}
		for k, v := range full {
			m[k] = v
		}
		if zero == nil {
			delete(m, key)
		} else {
			m[key] = zero
		}
		b, _ := json.Marshal(m)
		return withBody(string(b))
	}
	cases := []struct {
		name      string
		send      []byte
		halfClose bool
		want      string
	}{
		{"no size", nil, true, "E_BAD_BODY IDENTIFY failed to read body size"},
		{"short size", []byte{0, 0}, true, "E_BAD_BODY IDENTIFY failed to read body size"},
		{"zero size", size(0), false, "E_BAD_BODY IDENTIFY invalid body size 0"},
		{"negative size", size(-1), false, "E_BAD_BODY IDENTIFY invalid body size -1"},
		{"min int size", size(-1 << 31), false, "E_BAD_BODY IDENTIFY invalid body size -2147483648"},
		{"huge size", size(1<<31 - 1), false, fmt.Sprintf("E_BAD_BODY IDENTIFY body too big 2147483647 > %d", maxIdentifyBodySize)},
		{"just too big", size(maxIdentifyBodySize + 1), false, fmt.Sprintf("E_BAD_BODY IDENTIFY body too big %d > %d", maxIdentifyBodySize+1, maxIdentifyBodySize)},
		{"short body", append(size(100), `{"tcp_port":1}`...), true, "E_BAD_BODY IDENTIFY failed to read body"},
		{"bad json", withBody("{"), false, "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"json array", withBody("[1,2]"), false, "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"json string port", withBody(`{"broadcast_address":"b","tcp_port":"4150","http_port":4151,"version":"1"}`), false, "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"json fractional port", withBody(`{"broadcast_address":"b","tcp_port":4150.5,"http_port":4151,"version":"1"}`), false, "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"json null", withBody("null"), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"json empty object", withBody("{}"), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"no broadcast_address", without("broadcast_address", nil), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"empty broadcast_address", without("broadcast_address", ""), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"no tcp_port", without("tcp_port", nil), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"zero tcp_port", without("tcp_port", 0), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"no http_port", without("http_port", nil), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"zero http_port", without("http_port", 0), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"no version", without("version", nil), false, "E_BAD_BODY IDENTIFY missing fields"},
		{"empty version", without("version", ""), false, "E_BAD_BODY IDENTIFY missing fields"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dial(t, n)
			p.write(append([]byte("IDENTIFY\n"), c.send...))
			if c.halfClose {
				p.conn.(*net.TCPConn).CloseWrite()
			}
			if got := p.mustReply(); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			p.expectClosed()
			if nodes := nodesOf(t, n); len(nodes) != 0 {
				t.Fatalf("failed IDENTIFY left nodes %+v", nodes)
			}
			stillServing(t, n)
		})
	}
}

func TestIdentify(t *testing.T) {
	n := mustStart(t, func(o *Options) { o.BroadcastAddress = "lookupd<&>.example" })
	p := dial(t, n)
	info := peerInfoFor("nsqd.example", 4150, 4151)
	info["topology_zone"] = "z1"
	info["topology_region"] = "r1"
	info["remote_address"] = "forged:1"
	info["unknown_key"] = []int{1, 2}
	body, _ := json.Marshal(info)
	reply := p.identifyRaw(body)

	hostname, _ := os.Hostname()
	hostJSON, _ := json.Marshal(hostname)
	want := fmt.Sprintf(`{"broadcast_address":"lookupd\u003c\u0026\u003e.example","hostname":%s,"http_port":%d,"tcp_port":%d,"version":"1.3.0"}`,
		hostJSON, n.RealHTTPAddr().(*net.TCPAddr).Port, n.RealTCPAddr().(*net.TCPAddr).Port)
	if reply != want {
		t.Fatalf("IDENTIFY reply\n got %s\nwant %s", reply, want)
	}

	r := request(t, n, "GET", "/nodes")
	wantNodes := fmt.Sprintf(`{"producers":[{"remote_address":%q,"hostname":"nsqd.example-host","broadcast_address":"nsqd.example","tcp_port":4150,"http_port":4151,"version":"1.3.0","topology_zone":"z1","topology_region":"r1","tombstones":[],"topics":[]}]}`,
		p.localAddr())
	if r.status != 200 || r.body != wantNodes {
		t.Fatalf("/nodes after IDENTIFY\n got %d %s\nwant %s", r.status, r.body, wantNodes)
	}
	p.mustOK("PING")
}

func TestPingRefreshesLastUpdate(t *testing.T) {
	n := mustStart(t)
	p := dial(t, n)
	p.mustOK("PING") // before IDENTIFY: OK, nothing to refresh
	p.identify(peerInfoFor("b", 1, 2))
	lastUpdate := func() int64 {
		var dbg map[string][]debugEntry
		getJSON(t, n, "/debug", &dbg)
		if len(dbg["client::"]) != 1 {
			t.Fatalf("client:: entries: %+v", dbg)
		}
		return dbg["client::"][0].LastUpdate
	}
	first := lastUpdate()
	if first <= 0 {
		t.Fatalf("last_update after IDENTIFY = %d", first)
	}
	eventually(t, func() bool {
		p.mustOK("PING")
		return lastUpdate() > first
	}, "PING did not advance last_update past %d", first)
}

func TestExitClosesClients(t *testing.T) {
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	opts.Logger = testutil.NewLogger(t)
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	p := dial(t, n)
	p.mustOK("PING")
	silent := dialRaw(t, n)                                     // never sends the magic
	idleConn, err := net.Dial("tcp", n.RealHTTPAddr().String()) // an HTTP keep-alive connection
	if err != nil {
		t.Fatal(err)
	}
	defer idleConn.Close()
	idleConn.SetDeadline(time.Now().Add(waitTimeout))
	idle := &peer{tb: t, conn: idleConn, r: bufio.NewReader(idleConn)}
	idle.write([]byte("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"))
	if line, err := idle.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("HTTP over raw conn: %q %v", line, err)
	}

	n.Exit()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Main: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Main did not return after Exit")
	}
	p.expectClosed()
	silent.expectClosed()
	if _, err := io.ReadAll(idle.r); err != nil { // drains the rest of the reply, then EOF
		t.Fatalf("HTTP connection: %v", err)
	}
	if _, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), time.Second); err == nil {
		t.Fatal("TCP listener still accepting after Exit")
	}
	n.Exit() // idempotent
	if err := n.Main(); err != ErrMainCalledTwice {
		t.Fatalf("second Main: %v", err)
	}
}

func TestExitWithoutMain(t *testing.T) {
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	opts.Logger = testutil.NewLogger(t)
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	addr := n.RealHTTPAddr().String()
	n.Exit()
	if err := n.Main(); err != nil {
		t.Fatalf("Main after Exit: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("HTTP listener still open after Exit")
	}
}
