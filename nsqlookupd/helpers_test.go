package nsqlookupd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
)

const waitTimeout = 10 * time.Second

// mustStart starts a daemon on 127.0.0.1 port 0 and stops it at cleanup,
// failing the test if Main returned an error.
func mustStart(tb testing.TB, modify ...func(*Options)) *NSQLookupd {
	tb.Helper()
	opts := NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "lookupd.test"
	opts.Logger = testutil.NewLogger(tb)
	opts.LogLevel = lg.DEBUG
	for _, m := range modify {
		m(opts)
	}
	n, err := New(opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	tb.Cleanup(func() {
		n.Exit()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("Main returned %v", err)
			}
		case <-time.After(waitTimeout):
			tb.Errorf("Main did not return after Exit")
		}
	})
	return n
}

// peer is a test client speaking the V1 protocol.
type peer struct {
	tb   testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw connects without sending the magic.
func dialRaw(tb testing.TB, n *NSQLookupd) *peer {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), waitTimeout)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitTimeout))
	return &peer{tb: tb, conn: conn, r: bufio.NewReader(conn)}
}

// dial connects and sends the "  V1" magic.
func dial(tb testing.TB, n *NSQLookupd) *peer {
	tb.Helper()
	p := dialRaw(tb, n)
	p.write([]byte("  V1"))
	return p
}

func (p *peer) write(b []byte) {
	p.tb.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.tb.Fatalf("write: %v", err)
	}
}

// readReply reads one "int32 len + payload" reply.
func (p *peer) readReply() (string, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return "", err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > 1<<20 {
		return "", fmt.Errorf("reply size %d", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(p.r, body); err != nil {
		return "", err
	}
	return string(body), nil
}

func (p *peer) mustReply() string {
	p.tb.Helper()
	s, err := p.readReply()
	if err != nil {
		p.tb.Fatalf("read reply: %v", err)
	}
	return s
}

// cmd sends a command line and returns the reply.
func (p *peer) cmd(line string) string {
	p.tb.Helper()
	p.write([]byte(line + "\n"))
	return p.mustReply()
}

// mustOK sends a command line and fails unless the reply is OK.
func (p *peer) mustOK(line string) {
	p.tb.Helper()
	if got := p.cmd(line); got != "OK" {
		p.tb.Fatalf("%q: got %q, want OK", line, got)
	}
}

// identifyRaw sends IDENTIFY with body and returns the reply.
func (p *peer) identifyRaw(body []byte) string {
	p.tb.Helper()
	msg := []byte("IDENTIFY\n")
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(body)))
	p.write(append(msg, body...))
	return p.mustReply()
}

// identify sends IDENTIFY with info and fails unless the reply is JSON.
func (p *peer) identify(info map[string]any) map[string]any {
	p.tb.Helper()
	body, _ := json.Marshal(info)
	reply := p.identifyRaw(body)
	var m map[string]any
	if err := json.Unmarshal([]byte(reply), &m); err != nil {
		p.tb.Fatalf("IDENTIFY reply %q: %v", reply, err)
	}
	return m
}

// expectClosed fails unless the server closes the connection.
func (p *peer) expectClosed() {
	p.tb.Helper()
	p.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	b, err := p.r.ReadByte()
	if err == nil {
		p.tb.Fatalf("connection still open: read byte %q", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		p.tb.Fatalf("connection not closed within %s", waitTimeout)
	}
}

// localAddr is the peer id the daemon sees.
func (p *peer) localAddr() string { return p.conn.LocalAddr().String() }

func peerInfoFor(broadcast string, tcpPort, httpPort int) map[string]any {
	return map[string]any{
		"broadcast_address": broadcast,
		"tcp_port":          tcpPort,
		"http_port":         httpPort,
		"version":           "1.3.0",
		"hostname":          broadcast + "-host",
	}
}

// identified dials and IDENTIFYs as broadcast:tcpPort/httpPort.
func identified(tb testing.TB, n *NSQLookupd, broadcast string, tcpPort, httpPort int) *peer {
	tb.Helper()
	p := dial(tb, n)
	p.identify(peerInfoFor(broadcast, tcpPort, httpPort))
	return p
}

// response is one HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

var noRedirectClient = &http.Client{
	Timeout: waitTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// request sends method to path on n's HTTP API.
func request(tb testing.TB, n *NSQLookupd, method, path string) response {
	tb.Helper()
	req, err := http.NewRequest(method, "http://"+n.RealHTTPAddr().String()+path, nil)
	if err != nil {
		tb.Fatalf("request %s: %v", path, err)
	}
	resp, err := noRedirectClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

// getJSON GETs path, expects 200 and decodes the body into v.
func getJSON(tb testing.TB, n *NSQLookupd, path string, v any) {
	tb.Helper()
	r := request(tb, n, http.MethodGet, path)
	if r.status != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		tb.Fatalf("GET %s: %v in %s", path, err, r.body)
	}
}

// mustPost POSTs path and expects 200 with an empty body.
func mustPost(tb testing.TB, n *NSQLookupd, path string) {
	tb.Helper()
	r := request(tb, n, http.MethodPost, path)
	if r.status != http.StatusOK || r.body != "" {
		tb.Fatalf("POST %s: %d %q", path, r.status, r.body)
	}
}

type lookupResult struct {
	Channels  []string `json:"channels"`
	Producers []struct {
		RemoteAddress    string `json:"remote_address"`
		BroadcastAddress string `json:"broadcast_address"`
		TCPPort          int    `json:"tcp_port"`
		HTTPPort         int    `json:"http_port"`
	} `json:"producers"`
}

// lookup returns /lookup?topic= and whether the topic was found.
func lookup(tb testing.TB, n *NSQLookupd, topic string) (lookupResult, bool) {
	tb.Helper()
	r := request(tb, n, http.MethodGet, "/lookup?topic="+topic)
	var res lookupResult
	switch r.status {
	case http.StatusNotFound:
		if r.body != `{"message":"TOPIC_NOT_FOUND"}` {
			tb.Fatalf("lookup %s: 404 %s", topic, r.body)
		}
		return res, false
	case http.StatusOK:
		if err := json.Unmarshal([]byte(r.body), &res); err != nil {
			tb.Fatalf("lookup %s: %v in %s", topic, err, r.body)
		}
		return res, true
	}
	tb.Fatalf("lookup %s: %d %s", topic, r.status, r.body)
	return res, false
}

// producerAddrs returns "broadcast:tcp" of each /lookup producer, sorted.
func producerAddrs(tb testing.TB, n *NSQLookupd, topic string) string {
	tb.Helper()
	res, ok := lookup(tb, n, topic)
	if !ok {
		return "<not found>"
	}
	addrs := make([]string, len(res.Producers))
	for i, p := range res.Producers {
		addrs[i] = fmt.Sprintf("%s:%d", p.BroadcastAddress, p.TCPPort)
	}
	return strings.Join(sortedCopy(addrs), ",")
}

func topicsOf(tb testing.TB, n *NSQLookupd) string {
	tb.Helper()
	var v struct{ Topics []string }
	getJSON(tb, n, "/topics", &v)
	return strings.Join(sortedCopy(v.Topics), ",")
}

func channelsOf(tb testing.TB, n *NSQLookupd, topic string) string {
	tb.Helper()
	var v struct{ Channels []string }
	getJSON(tb, n, "/channels?topic="+topic, &v)
	return strings.Join(sortedCopy(v.Channels), ",")
}

type nodeResult struct {
	RemoteAddress    string   `json:"remote_address"`
	BroadcastAddress string   `json:"broadcast_address"`
	TCPPort          int      `json:"tcp_port"`
	Topics           []string `json:"topics"`
	Tombstones       []bool   `json:"tombstones"`
}

func nodesOf(tb testing.TB, n *NSQLookupd) []nodeResult {
	tb.Helper()
	var v struct{ Producers []nodeResult }
	getJSON(tb, n, "/nodes", &v)
	for _, nd := range v.Producers {
		if len(nd.Topics) != len(nd.Tombstones) {
			tb.Fatalf("node %s: %d topics but %d tombstones", nd.RemoteAddress, len(nd.Topics), len(nd.Tombstones))
		}
	}
	return v.Producers
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(tb testing.TB, cond func() bool, msg string, args ...any) {
	tb.Helper()
	testutil.Eventually(tb, waitTimeout, cond, msg, args...)
}

// try sends a command line and returns the reply without failing the
// test, for use off the test goroutine.
func (p *peer) try(line string) (string, error) {
	if _, err := p.conn.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	return p.readReply()
}

// tryRequest is request without failing the test, for use off the test
// goroutine.
func tryRequest(n *NSQLookupd, method, path string) (response, error) {
	req, err := http.NewRequest(method, "http://"+n.RealHTTPAddr().String()+path, nil)
	if err != nil {
		return response{}, err
	}
	resp, err := noRedirectClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(body)}, err
}
