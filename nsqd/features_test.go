package nsqd

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	nsq "github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/testutil/gonsqtest"
)

// goNSQConfig is go-nsq's default config with a write deadline for a
// loaded machine: go-nsq writes IDENTIFY, the TLS handshake and each
// (deflated) frame within WriteTimeout, 1 s by default, which a
// race-instrumented run on 2 busy cores misses ("i/o timeout", then "not
// connected" for the next publish).
func goNSQConfig() *nsq.Config {
	c := nsq.NewConfig()
	c.WriteTimeout = 30 * time.Second
	return c
}

type nopLogger struct{}

func (nopLogger) Output(int, string) error { return nil }

// negotiated is the set of features a connection should have agreed on.
type negotiated struct{ tls, snappy, deflate bool }

func (n negotiated) String() string {
	return fmt.Sprintf("tls=%v snappy=%v deflate=%v", n.tls, n.snappy, n.deflate)
}

// checkNegotiated fails the test when the /stats entry of a client shows
// other features than want.
func checkNegotiated(t *testing.T, who string, cs *ClientStats, want negotiated) {
	t.Helper()
	got := negotiated{tls: cs.TLS, snappy: cs.Snappy, deflate: cs.Deflate}
	if got != want {
		t.Errorf("%s in /stats: %s, want %s", who, got, want)
	}
	if want.tls && cs.TLSVersion == "" {
		t.Errorf("%s in /stats: tls without tls_version", who)
	}
}

// roundTripBodies are count small messages and two larger ones: a
// compressible 2 KiB body and 100,000 random bytes, which cross the
// output buffer and the compressors' block sizes.
func roundTripBodies(count int) []string {
	bodies := make([]string, 0, count+2)
	for i := 0; i < count; i++ {
		bodies = append(bodies, fmt.Sprintf("msg-%d", i))
	}
	large := make([]byte, 100000)
	rand.Read(large)
	return append(bodies, strings.Repeat("compressible ", 2048/13+1), string(large))
}

// roundTrip publishes count small messages and two large ones with a go-nsq
// producer and consumes them with a go-nsq consumer, both using cfg, and
// checks in /stats that both connections negotiated *want (not checked
// when want is nil: /stats is then not reachable over plain HTTP).
func roundTrip(t *testing.T, n *NSQD, topic string, cfg func() *nsq.Config, count int, want *negotiated) {
	t.Helper()
	addr := n.RealTCPAddr().String()
	p, err := nsq.NewProducer(addr, cfg())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(nopLogger{}, nsq.LogLevelError)
	defer p.Stop()
	bodies := roundTripBodies(count)
	for _, b := range bodies {
		if err := p.Publish(topic, []byte(b)); err != nil {
			t.Fatalf("publish %d bytes: %s", len(b), err)
		}
	}
	if want != nil {
		producer := producerStatsOf(t, n, topic)
		if producer == nil {
			t.Fatalf("no producer of %s in /stats", topic)
		}
		checkNegotiated(t, "producer", producer, *want)
	}

	c := gonsqtest.Consume(t, topic, "ch", gonsqtest.Options{NSQD: []string{addr}, Config: func(c *nsq.Config) { *c = *cfg() }})
	defer c.Stop(t)
	c.WaitAll(t, bodies, 20*time.Second)
	if want != nil {
		ch := channelStatsOf(t, n, topic, "ch")
		if ch == nil || len(ch.Clients) != 1 {
			t.Fatalf("channel %s/ch in /stats: %+v", topic, ch)
		}
		checkNegotiated(t, "consumer", ch.Clients[0], *want)
	}
}

// producerStatsOf returns the /stats entry of the producer that published
// to topic, or nil.
func producerStatsOf(t *testing.T, n *NSQD, topic string) *ClientStats {
	t.Helper()
	for _, p := range getStats(t, n, "").Producers {
		for _, pc := range p.PubCounts {
			if pc.Topic == topic {
				return p
			}
		}
	}
	return nil
}

// identifyWith connects a go-nsq Conn with cfg and returns nsqd's IDENTIFY
// reply as go-nsq read it, after go-nsq performed the upgrades it names.
func identifyWith(t *testing.T, n *NSQD, cfg *nsq.Config) *nsq.IdentifyResponse {
	t.Helper()
	conn := nsq.NewConn(n.RealTCPAddr().String(), cfg, nopConnDelegate{})
	conn.SetLogger(nopLogger{}, nsq.LogLevelError, "")
	resp, err := conn.Connect()
	if err != nil {
		t.Fatalf("connect: %s", err)
	}
	conn.Close()
	return resp
}

type nopConnDelegate struct{}

func (nopConnDelegate) OnResponse(*nsq.Conn, []byte)              {}
func (nopConnDelegate) OnError(*nsq.Conn, []byte)                 {}
func (nopConnDelegate) OnMessage(*nsq.Conn, *nsq.Message)         {}
func (nopConnDelegate) OnMessageFinished(*nsq.Conn, *nsq.Message) {}
func (nopConnDelegate) OnMessageRequeued(*nsq.Conn, *nsq.Message) {}
func (nopConnDelegate) OnBackoff(*nsq.Conn)                       {}
func (nopConnDelegate) OnContinue(*nsq.Conn)                      {}
func (nopConnDelegate) OnResume(*nsq.Conn)                        {}
func (nopConnDelegate) OnIOError(*nsq.Conn, error)                {}
func (nopConnDelegate) OnHeartbeat(*nsq.Conn)                     {}
func (nopConnDelegate) OnClose(*nsq.Conn)                         {}

// TestGoNSQFeatures runs go-nsq with each feature it can negotiate and
// checks, besides delivery, that the feature was agreed on: in the
// IDENTIFY reply go-nsq acts on and in /stats for both ends. go-nsq
// silently goes on without a feature nsqd declines, so delivery alone
// proves nothing.
func TestGoNSQFeatures(t *testing.T) {
	opts := testOptions(t)
	opts.TLSCert, opts.TLSKey = testutil.WriteCert(t, t.TempDir(), "nsqd")
	n := startNSQD(t, opts)
	cases := []struct {
		name string
		set  func(*nsq.Config)
		want negotiated
	}{
		{"plain", func(*nsq.Config) {}, negotiated{}},
		{"snappy", func(c *nsq.Config) { c.Snappy = true }, negotiated{snappy: true}},
		{"deflate", func(c *nsq.Config) { c.Deflate = true; c.DeflateLevel = 5 }, negotiated{deflate: true}},
		{"tls", func(c *nsq.Config) { c.TlsV1 = true }, negotiated{tls: true}},
		{"tls+snappy", func(c *nsq.Config) { c.TlsV1 = true; c.Snappy = true }, negotiated{tls: true, snappy: true}},
		{"tls+deflate", func(c *nsq.Config) { c.TlsV1 = true; c.Deflate = true }, negotiated{tls: true, deflate: true}},
		{"small output buffer", func(c *nsq.Config) { c.OutputBufferSize = 64; c.OutputBufferTimeout = 25 * time.Millisecond }, negotiated{}},
		{"snappy, unbuffered output", func(c *nsq.Config) { c.Snappy = true; c.OutputBufferSize = -1 }, negotiated{snappy: true}},
		{"deflate, small output buffer", func(c *nsq.Config) { c.Deflate = true; c.OutputBufferSize = 64 }, negotiated{deflate: true}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := func() *nsq.Config {
				c := goNSQConfig()
				c.TlsConfig = &tls.Config{InsecureSkipVerify: true}
				c.MaxInFlight = 50
				tc.set(c)
				return c
			}
			resp := identifyWith(t, n, cfg())
			if got := (negotiated{tls: resp.TLSv1, snappy: resp.Snappy, deflate: resp.Deflate}); got != tc.want {
				t.Errorf("IDENTIFY reply: %s, want %s", got, tc.want)
			}
			roundTrip(t, n, fmt.Sprintf("feat%d", i), cfg, 200, &tc.want)
		})
	}
}

func TestTLSRequired(t *testing.T) {
	opts := testOptions(t)
	opts.TLSCert, opts.TLSKey = testutil.WriteCert(t, t.TempDir(), "nsqd")
	opts.TLSRequired = TLSRequiredExceptHTTP
	n := startNSQD(t, opts)
	for _, cmd := range []string{"NOP", "PUB t", "AUTH", "SUB t c"} {
		c := dial(t, n)
		c.cmd(cmd)
		c.expectError(fmt.Sprintf("E_INVALID cannot %s in current state (TLS required)", firstWord(cmd)))
		c.expectClosed()
	}
	// IDENTIFY without TLS still answers
	c := dial(t, n)
	if f := c.identify(map[string]any{}); string(f.data) != "OK" {
		t.Fatal(f)
	}
	// with TLS everything works
	roundTrip(t, n, "tlsonly", func() *nsq.Config {
		c := goNSQConfig()
		c.TlsV1 = true
		c.TlsConfig = &tls.Config{InsecureSkipVerify: true}
		return c
	}, 10, &negotiated{tls: true})
	// tcp-https leaves plain HTTP open
	if code, _, _ := httpDo(t, n, "GET", "/ping", ""); code != 200 {
		t.Fatalf("plain HTTP with tcp-https: %d", code)
	}
}

func firstWord(s string) string {
	for i := range s {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

func TestTLSClientAuthPolicy(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	opts.TLSCert, opts.TLSKey = testutil.WriteCert(t, dir, "server")
	clientCert, clientKey := testutil.WriteCert(t, dir, "client")
	opts.TLSRootCAFile = clientCert
	opts.TLSClientAuthPolicy = "require-verify"
	n := startNSQD(t, opts)
	if n.tlsRequired != TLSRequiredAll {
		t.Fatal("a client auth policy must imply --tls-required")
	}
	cert, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, n, "mtls", func() *nsq.Config {
		c := goNSQConfig()
		c.TlsV1 = true
		c.TlsConfig = &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}
		return c
	}, 5, nil) // /stats needs HTTPS here
	// without a client certificate the handshake fails
	p, _ := nsq.NewProducer(n.RealTCPAddr().String(), func() *nsq.Config {
		c := goNSQConfig()
		c.TlsV1 = true
		c.TlsConfig = &tls.Config{InsecureSkipVerify: true}
		return c
	}())
	p.SetLogger(nopLogger{}, nsq.LogLevelError)
	if err := p.Publish("mtls", []byte("x")); err == nil {
		t.Fatal("publish without client cert succeeded")
	}
	p.Stop()
}

// authServer answers like an NSQ auth server and records requests.
type authServer struct {
	srv      *httptest.Server
	requests atomic.Int32
	mu       sync.Mutex
	last     *http.Request
	lastBody string
}

func newAuthServer(t *testing.T, reply map[string]string) *authServer {
	a := &authServer{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		r.ParseForm()
		body := make([]byte, 1024)
		k, _ := r.Body.Read(body)
		a.mu.Lock()
		a.last, a.lastBody = r, string(body[:k])
		a.mu.Unlock()
		secret := r.Form.Get("secret")
		if r.Method == "POST" {
			var v map[string][]string
			json.Unmarshal(body[:k], &v)
			secret = v["secret"][0]
		}
		resp, ok := reply[secret]
		if !ok {
			w.WriteHeader(403)
			return
		}
		w.Write([]byte(resp))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func TestAuth(t *testing.T) {
	a := newAuthServer(t, map[string]string{
		"pub":     `{"ttl":3600,"identity":"alice","identity_url":"http://x/alice","authorizations":[{"topic":"^ok$","channels":[".*"],"permissions":["publish"]}]}`,
		"sub":     `{"ttl":3600,"identity":"bob","authorizations":[{"topic":"ok","channels":["^c$"],"permissions":["subscribe"]}]}`,
		"nopub":   `{"ttl":3600,"identity":"eve","authorizations":[{"topic":".*","channels":[],"permissions":["publish"]}]}`,
		"none":    `{"ttl":3600,"identity":"nobody","authorizations":[]}`,
		"badttl":  `{"ttl":0,"identity":"x","authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]}`,
		"badperm": `{"ttl":10,"identity":"x","authorizations":[{"topic":".*","channels":[".*"],"permissions":["admin"]}]}`,
		"short":   `{"ttl":1,"identity":"x","authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]}`,
	})
	opts := testOptions(t)
	opts.AuthHTTPAddresses = []string{a.srv.Listener.Addr().String()}
	n := startNSQD(t, opts)

	c := dial(t, n)
	f := c.identify(map[string]any{"feature_negotiation": true})
	if !jsonHas(t, f.data, "auth_required", true) {
		t.Fatalf("identify: %s", f)
	}
	c.cmd("PUB ok", []byte("x"))
	c.expectError("E_AUTH_FIRST AUTH required before PUB")

	cases := []struct {
		secret string
		cmd    string
		body   []byte
		want   string // "" = OK
	}{
		{"pub", "PUB ok", []byte("x"), ""},
		{"pub", "MPUB ok", mpubBody("x"), ""},
		{"pub", "DPUB ok 10", []byte("x"), ""},
		{"pub", "PUB other", []byte("x"), `E_UNAUTHORIZED AUTH failed for PUB on "other" ""`},
		{"pub", "SUB ok c", nil, `E_UNAUTHORIZED AUTH failed for SUB on "ok" "c"`},
		{"sub", "SUB ok c", nil, ""},
		{"sub", "SUB ok d", nil, `E_UNAUTHORIZED AUTH failed for SUB on "ok" "d"`},
		{"nopub", "PUB ok", []byte("x"), `E_UNAUTHORIZED AUTH failed for PUB on "ok" ""`},
	}
	for _, tc := range cases {
		t.Run(tc.secret+" "+tc.cmd, func(t *testing.T) {
			c := dial(t, n)
			c.cmd("AUTH", []byte(tc.secret))
			f := c.readFrame()
			if !jsonHas(t, f.data, "permission_count", float64(1)) {
				t.Fatalf("AUTH reply %s", f)
			}
			if tc.body != nil {
				c.cmd(tc.cmd, tc.body)
			} else {
				c.cmd(tc.cmd)
			}
			if tc.want == "" {
				c.expectOK()
			} else {
				c.expectError(tc.want)
				c.expectClosed()
			}
		})
	}
	for secret, want := range map[string]string{
		"none":    "E_UNAUTHORIZED AUTH no authorizations found",
		"unknown": "E_AUTH_FAILED AUTH failed",
		"badttl":  "E_AUTH_FAILED AUTH failed",
		"badperm": "E_AUTH_FAILED AUTH failed",
	} {
		c := dial(t, n)
		c.cmd("AUTH", []byte(secret))
		c.expectError(want)
		c.expectClosed()
	}
	c = dial(t, n)
	c.cmd("AUTH", []byte("pub"))
	c.readFrame()
	c.cmd("AUTH", []byte("pub"))
	c.expectError("E_INVALID AUTH already set")

	// the GET request carries the documented parameters
	a.mu.Lock()
	q := a.last.URL.Query()
	a.mu.Unlock()
	if q.Get("remote_ip") != "127.0.0.1" || q.Get("tls") != "false" || q.Get("secret") != "pub" || !q.Has("common_name") {
		t.Fatalf("auth query %v", q)
	}

	// an expired authorization is fetched again on the next check
	c = dial(t, n)
	c.cmd("AUTH", []byte("short"))
	c.readFrame()
	before := a.requests.Load()
	time.Sleep(1100 * time.Millisecond)
	c.cmd("PUB any", []byte("x"))
	c.expectOK()
	if a.requests.Load() != before+1 {
		t.Fatal("expired authorization was not refreshed")
	}
	// stats show the identity
	sub := dial(t, n)
	sub.cmd("AUTH", []byte("sub"))
	sub.readFrame()
	sub.cmd("SUB ok c")
	sub.expectOK()
	cl := channelStatsOf(t, n, "ok", "c").Clients[0]
	if !cl.Authed || cl.AuthIdentity != "bob" {
		t.Fatalf("client stats %+v", cl)
	}
}

func TestAuthPost(t *testing.T) {
	a := newAuthServer(t, map[string]string{
		"pub": `{"ttl":3600,"identity":"alice","authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]}`,
	})
	opts := testOptions(t)
	opts.AuthHTTPAddresses = []string{a.srv.URL + "/custom"}
	opts.AuthHTTPRequestMethod = "post"
	n := startNSQD(t, opts)
	c := dial(t, n)
	c.cmd("AUTH", []byte("pub"))
	c.readFrame()
	c.cmd("PUB x", []byte("y"))
	c.expectOK()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last.Method != "POST" || a.last.URL.Path != "/custom" ||
		a.lastBody != `{"common_name":[""],"remote_ip":["127.0.0.1"],"secret":["pub"],"tls":["false"]}` {
		t.Fatalf("POST %s %s", a.last.URL, a.lastBody)
	}
}

func jsonHas(t *testing.T, data []byte, key string, want any) bool {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return false
	}
	return m[key] == want
}

func TestTLSMinVersion(t *testing.T) {
	opts := testOptions(t)
	opts.TLSCert, opts.TLSKey = testutil.WriteCert(t, t.TempDir(), "nsqd")
	opts.TLSMinVersion = tls.VersionTLS12
	n := startNSQD(t, opts)
	for _, tc := range []struct {
		max uint16
		ok  bool
	}{{tls.VersionTLS11, false}, {tls.VersionTLS12, true}, {tls.VersionTLS13, true}} {
		p, _ := nsq.NewProducer(n.RealTCPAddr().String(), func() *nsq.Config {
			c := goNSQConfig()
			c.TlsV1 = true
			c.TlsConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tc.max}
			return c
		}())
		p.SetLogger(nopLogger{}, nsq.LogLevelError)
		err := p.Publish("minver", []byte("x"))
		p.Stop()
		if (err == nil) != tc.ok {
			t.Errorf("client max TLS %x: err %v, want ok=%v", tc.max, err, tc.ok)
		}
	}
}
