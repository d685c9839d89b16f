package nsqd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/protocol"
	"github.com/dropin/nsq/internal/testutil"
)

// testOptions returns options for a daemon on 127.0.0.1 with ephemeral
// ports and a temporary data directory.
func testOptions(tb testing.TB) *Options {
	tb.Helper()
	opts := NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.HTTPSAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = tb.TempDir()
	opts.Logger = testutil.NewLogger(tb)
	opts.LogLevel = 1
	return opts
}

// startNSQD starts a daemon and stops it at cleanup.
func startNSQD(tb testing.TB, opts *Options) *NSQD {
	tb.Helper()
	n, err := New(opts)
	if err != nil {
		tb.Fatalf("New: %s", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	tb.Cleanup(func() {
		n.Exit()
		if err := <-done; err != nil {
			tb.Errorf("Main: %s", err)
		}
	})
	return n
}

// ioWait bounds every read and write of a testConn: long, because it only
// decides how soon a broken test fails, never whether a working one passes
// on a loaded machine.
const ioWait = 20 * time.Second

// testConn is a raw V2 protocol connection.
type testConn struct {
	tb   testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(tb testing.TB, n *NSQD) *testConn {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), 2*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	if _, err := conn.Write([]byte(protocol.MagicV2)); err != nil {
		tb.Fatal(err)
	}
	return &testConn{tb: tb, conn: conn, r: bufio.NewReader(conn)}
}

// send writes raw bytes.
func (c *testConn) send(parts ...[]byte) {
	c.tb.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(ioWait))
	for _, p := range parts {
		if _, err := c.conn.Write(p); err != nil {
			c.tb.Fatalf("write: %s", err)
		}
	}
}

// cmd sends a command line and an optional body (length-prefixed).
func (c *testConn) cmd(line string, body ...[]byte) {
	c.tb.Helper()
	c.send([]byte(line + "\n"))
	if len(body) > 0 {
		c.send(sized(body[0]))
	}
}

func sized(b []byte) []byte { return protocol.AppendBody(nil, b) }

// mpubBody builds an MPUB body.
func mpubBody(msgs ...string) []byte {
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		bodies[i] = []byte(m)
	}
	return protocol.AppendMPUB(nil, bodies...)
}

type frame struct {
	typ  int32
	data []byte
}

func (f frame) String() string { return fmt.Sprintf("frame(%d, %q)", f.typ, f.data) }

// readFrame reads one frame, skipping heartbeats unless keepHB.
func (c *testConn) readFrameHB(keepHB bool) (frame, error) {
	for {
		c.conn.SetReadDeadline(time.Now().Add(ioWait))
		typ, data, err := protocol.ReadFrame(c.r, nil)
		if err != nil {
			return frame{}, err
		}
		f := frame{typ: typ, data: data}
		if !keepHB && f.typ == protocol.FrameTypeResponse && bytes.Equal(f.data, protocol.Heartbeat) {
			continue
		}
		return f, nil
	}
}

func (c *testConn) readFrame() frame {
	c.tb.Helper()
	f, err := c.readFrameHB(false)
	if err != nil {
		c.tb.Fatalf("read frame: %s", err)
	}
	return f
}

// expect reads a frame and checks its type and data.
func (c *testConn) expect(typ int32, data string) {
	c.tb.Helper()
	f := c.readFrame()
	if f.typ != typ || string(f.data) != data {
		c.tb.Fatalf("got %s, want frame(%d, %q)", f, typ, data)
	}
}

func (c *testConn) expectOK() { c.tb.Helper(); c.expect(protocol.FrameTypeResponse, "OK") }

// expectError reads an error frame with exactly text.
func (c *testConn) expectError(text string) {
	c.tb.Helper()
	c.expect(protocol.FrameTypeError, text)
}

// expectClosed checks the server closed the connection. A read that
// times out is a failure: the connection is still open.
func (c *testConn) expectClosed() {
	c.tb.Helper()
	f, err := c.readFrameHB(false)
	if err == nil {
		c.tb.Fatalf("connection still open, got %s", f)
	}
	if isTimeout(err) {
		c.tb.Fatalf("connection still open after %s", ioWait)
	}
}

// expectHeartbeatClose reads heartbeats until the daemon closes a client
// that stopped talking at lastSent (taken before its last command was
// written) with heartbeat interval hb. The close must not come before two
// missed intervals (less the hb/8 by which a read deadline may lag) and
// must come: a daemon that heartbeats on (more than maxHeartbeats) or
// neither heartbeats nor closes (within ioWait) fails the test. At least
// minHeartbeats must arrive first; finalError, when not empty, is an error
// frame the daemon may send just before it closes.
func (c *testConn) expectHeartbeatClose(lastSent time.Time, hb time.Duration, minHeartbeats int, finalError string) {
	c.tb.Helper()
	const maxHeartbeats = 6 // two intervals see two or three
	heartbeats := 0
	for closed := false; !closed; {
		c.conn.SetReadDeadline(time.Now().Add(ioWait))
		typ, data, err := protocol.ReadFrame(c.r, nil)
		switch {
		case isTimeout(err):
			c.tb.Fatalf("no close and no heartbeat for %s (%d heartbeats before)", ioWait, heartbeats)
		case err != nil:
			closed = true
		case typ == protocol.FrameTypeResponse && bytes.Equal(data, protocol.Heartbeat):
			if heartbeats++; heartbeats > maxHeartbeats {
				c.tb.Fatalf("%d heartbeats unanswered over %s with a %s interval, connection still open",
					heartbeats, time.Since(lastSent).Round(time.Millisecond), hb)
			}
		case finalError != "" && typ == protocol.FrameTypeError && string(data) == finalError:
			finalError = "" // once
		default:
			c.tb.Fatalf("want a heartbeat or the close, got %s", frame{typ, data})
		}
	}
	if d := time.Since(lastSent); d < 2*hb-hb/8 {
		c.tb.Fatalf("closed %s after the last command, before two %s heartbeat intervals", d, hb)
	}
	if heartbeats < minHeartbeats {
		c.tb.Fatalf("closed after %d heartbeats, want at least %d", heartbeats, minHeartbeats)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// testMsg is a decoded message frame.
type testMsg struct {
	ts       int64
	attempts uint16
	id       string
	body     string
}

func (c *testConn) readMsg() testMsg {
	c.tb.Helper()
	f := c.readFrame()
	if f.typ != protocol.FrameTypeMessage {
		c.tb.Fatalf("want a message, got %s", f)
	}
	return testMsg{
		ts:       int64(binary.BigEndian.Uint64(f.data[:8])),
		attempts: binary.BigEndian.Uint16(f.data[8:10]),
		id:       string(f.data[10:26]),
		body:     string(f.data[26:]),
	}
}

// identify sends IDENTIFY with body and returns the reply frame.
func (c *testConn) identify(body map[string]any) frame {
	c.tb.Helper()
	b, _ := json.Marshal(body)
	c.cmd("IDENTIFY", b)
	return c.readFrame()
}

// subscribe connects, subscribes and sends RDY.
func subscribe(tb testing.TB, n *NSQD, topic, channel string, rdy int) *testConn {
	tb.Helper()
	c := dial(tb, n)
	c.cmd("SUB " + topic + " " + channel)
	c.expectOK()
	if rdy > 0 {
		c.cmd(fmt.Sprintf("RDY %d", rdy))
	}
	return c
}

// publish sends PUB on a new connection.
func publish(tb testing.TB, n *NSQD, topic string, bodies ...string) {
	tb.Helper()
	c := dial(tb, n)
	for _, b := range bodies {
		c.cmd("PUB "+topic, []byte(b))
		c.expectOK()
	}
	c.conn.Close()
}

// httpDo sends a request to the daemon's HTTP API and returns status,
// body and headers.
func httpDo(tb testing.TB, n *NSQD, method, path string, body string) (int, string, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(method, "http://"+n.RealHTTPAddr().String()+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

// getStats fetches /stats?format=json with extra query.
func getStats(tb testing.TB, n *NSQD, query string) statsResponse {
	tb.Helper()
	code, body, _ := httpDo(tb, n, "GET", "/stats?format=json"+query, "")
	if code != 200 {
		tb.Fatalf("/stats: %d %s", code, body)
	}
	var s statsResponse
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		tb.Fatalf("/stats JSON: %s", err)
	}
	return s
}

// channelStats returns the stats of one channel, or nil.
func channelStatsOf(tb testing.TB, n *NSQD, topic, channel string) *ChannelStats {
	tb.Helper()
	for _, t := range getStats(tb, n, "&topic="+url.QueryEscape(topic)).Topics {
		for _, c := range t.Channels {
			if c.ChannelName == channel {
				return c
			}
		}
	}
	return nil
}

func eventually(tb testing.TB, cond func() bool, msg string, args ...any) {
	tb.Helper()
	testutil.Eventually(tb, 10*time.Second, cond, msg, args...)
}

func newReader(conn net.Conn) *bufio.Reader { return bufio.NewReader(conn) }

func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, err
}
