package integration

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	nsq "github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/testutil/gonsqtest"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqd/nsqdtest"
)

// boundaryMaxMsgSize is the --max-msg-size of the servers under test,
// above 1 MiB so that both sizes are sent.
const boundaryMaxMsgSize = 1<<20 + 64<<10 + 7

// boundaryHeartbeat is the clients' heartbeat interval, far longer than a
// test waits for a message, because a heartbeat flushes whatever a buffer
// still holds and would hide a message stuck there.
const boundaryHeartbeat = 2 * time.Minute

// boundaryWait is how long a test waits for a message: well under
// boundaryHeartbeat, long enough for deflate level 9 of a 1 MiB body under
// -race on a loaded 2-core machine (a tls_deflate9 round took 18 s at load 9).
const boundaryWait = 60 * time.Second

// boundarySizes are message bodies on both sides of the buffer sizes a
// message crosses: nsqd's 16 KiB read and output buffers (a frame over
// twice the free space goes past the buffer), the 32 KiB deflate window,
// the 64 KiB snappy block, 1 MiB and the maximum message size.
var boundarySizes = []int{1, 32<<10 - 1, 32 << 10, 32<<10 + 1, 64<<10 + 1, 1 << 20, boundaryMaxMsgSize}

// wireMode is one combination of negotiated features.
type wireMode struct {
	name         string // also the topic name
	tls, snappy  bool
	deflateLevel int // 0: no deflate
}

var wireModes = []wireMode{
	{name: "plain"},
	{name: "snappy", snappy: true},
	{name: "deflate1", deflateLevel: 1},
	{name: "deflate9", deflateLevel: 9},
	{name: "tls", tls: true},
	{name: "tls_snappy", tls: true, snappy: true},
	{name: "tls_deflate1", tls: true, deflateLevel: 1},
	{name: "tls_deflate9", tls: true, deflateLevel: 9},
}

// flags is what /stats should show for a client in this mode.
func (m wireMode) flags() clientFlags {
	return clientFlags{TLS: m.tls, Snappy: m.snappy, Deflate: m.deflateLevel > 0}
}

// boundaryServer is an nsqd under test: ours, or NSQ's reference binary.
type boundaryServer struct {
	name      string
	tcp, http string
	skip      string // why this server is not run, if it is not
}

// run runs f as srv's subtest, or skips it saying why.
func (srv boundaryServer) run(t *testing.T, f func(*testing.T)) {
	t.Run(srv.name, func(t *testing.T) {
		if srv.skip != "" {
			t.Skip(srv.skip)
		}
		f(t)
	})
}

// boundaryServers starts our nsqd in-process (so the race detector sees
// it) and, when its folder is present, the NSQ v1.3 reference nsqd, both
// with TLS, --max-deflate-level=9, --max-msg-size=boundaryMaxMsgSize and
// --max-heartbeat-interval=boundaryHeartbeat.
func boundaryServers(t *testing.T) []boundaryServer {
	t.Helper()
	cert, key := testutil.WriteCert(t, t.TempDir(), "nsqd")
	n := nsqdtest.Start(t, func(o *nsqd.Options) {
		o.TLSCert, o.TLSKey = cert, key
		o.MaxDeflateLevel = 9
		o.MaxMsgSize = boundaryMaxMsgSize
		o.MaxHeartbeatInterval = boundaryHeartbeat
		o.LogLevel = lg.WARN
	})
	tcp, httpAddr := nsqdtest.Addrs(n)
	servers := []boundaryServer{{name: "ours", tcp: tcp, http: httpAddr}}
	ref := refBinary("nsqd")
	if ref == "" {
		return append(servers, boundaryServer{name: "ref",
			skip: "NSQ v1.3 reference nsqd not found (shared/ref beside the checkout, or $NSQ_REF_DIR): skipping the comparison"})
	}
	p := startProc(t, "ref-nsqd", ref, "--data-path="+t.TempDir(), "--https-address=",
		"--tls-cert="+cert, "--tls-key="+key, "--max-deflate-level=9",
		"--max-msg-size="+strconv.Itoa(boundaryMaxMsgSize),
		"--max-heartbeat-interval="+boundaryHeartbeat.String(), "--log-level=warn")
	return append(servers, boundaryServer{name: "ref", tcp: p.tcp, http: p.http})
}

// refBinary returns the path of an NSQ v1.3 reference binary: in
// $NSQ_REF_DIR, else in shared/ref beside the checkout or one of its
// parents (worktrees live one level deeper). "" when not found.
func refBinary(name string) string {
	dirs := []string{os.Getenv("NSQ_REF_DIR")}
	for up := "../.."; len(up) <= len("../../../.."); up += "/.." {
		dirs = append(dirs, filepath.Join(up, "shared", "ref"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p, err := filepath.Abs(filepath.Join(d, name))
		if err != nil {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// randomBodies returns one body per size, filled with bytes that do not
// compress, so the compressed frames are as large as the plain ones.
func randomBodies(seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, uint64(len(boundarySizes))))
	out := make([][]byte, len(boundarySizes))
	for i, n := range boundarySizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		out[i] = b
	}
	return out
}

// TestCompressionBoundariesGoNSQ publishes with a go-nsq producer and
// consumes with a go-nsq consumer, both in each wire mode, bodies across
// the buffer boundaries, against our nsqd and NSQ's.
func TestCompressionBoundariesGoNSQ(t *testing.T) {
	servers := boundaryServers(t)
	bodies := randomBodies(1)
	for _, srv := range servers {
		srv.run(t, func(t *testing.T) {
			for _, m := range wireModes {
				t.Run(m.name, func(t *testing.T) { goNSQBoundaries(t, srv, m, bodies) })
			}
		})
	}
}

// goNSQBoundaries subscribes a consumer, then publishes each body alone
// and waits until the consumer has it before sending the next, so a frame
// left in a buffer is not pushed out by the frames after it. Heartbeats are
// rare for the same reason. Then it sends all bodies in one MPUB.
func goNSQBoundaries(t *testing.T, srv boundaryServer, m wireMode, bodies [][]byte) {
	topic := "gonsq_" + m.name
	cfg := nsq.NewConfig()
	cfg.TlsV1 = m.tls
	cfg.TlsConfig = &tls.Config{InsecureSkipVerify: true}
	cfg.Snappy = m.snappy
	cfg.Deflate = m.deflateLevel > 0
	if cfg.Deflate {
		cfg.DeflateLevel = m.deflateLevel
	}
	cfg.MaxInFlight = 8
	// a heartbeat would flush what a buffer holds: keep them far apart
	// (nsqd refuses SUB with heartbeats off)
	cfg.HeartbeatInterval = boundaryHeartbeat
	cfg.ReadTimeout = 2 * boundaryHeartbeat
	// go-nsq compresses inside its write deadline (1 s by default); deflate
	// level 9 of a MiB of random bytes in a race-instrumented test binary on
	// a loaded machine can take longer, and go-nsq then drops the connection
	// mid-body (with NSQ's nsqd as with ours)
	cfg.WriteTimeout = 30 * time.Second

	c := gonsqtest.Consume(t, topic, "ch", gonsqtest.Options{NSQD: []string{srv.tcp}, Config: func(c *nsq.Config) { *c = *cfg }})
	defer c.Stop(t)
	known := make([]string, len(bodies))
	for i, b := range bodies {
		known[i] = string(b)
	}
	need := map[string]int{} // copies of each body published so far
	// receive waits until every body published so far has arrived as
	// often as it was published, and no body arrived that was never sent
	receive := func(what string) {
		t.Helper()
		done := func() bool {
			for b, n := range need {
				if c.Count(b) < n {
					return false
				}
			}
			return true
		}
		err := testutil.Poll(boundaryWait, func() bool { return done() || len(c.Unexpected(known)) > 0 })
		for _, b := range c.Unexpected(known) {
			t.Fatalf("deliver (%s): received a corrupt body of %d bytes", what, len(b))
		}
		if err != nil {
			var sizes []int
			for b, n := range need {
				if c.Count(b) < n {
					sizes = append(sizes, len(b))
				}
			}
			t.Fatalf("deliver (%s): bodies of %v bytes not received within %s", what, sizes, boundaryWait)
		}
	}

	p, err := nsq.NewProducer(srv.tcp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger{}, nsq.LogLevelError)
	defer p.Stop()
	done := make(chan *nsq.ProducerTransaction, 1)
	published := func(what string) {
		t.Helper()
		select {
		case tr := <-done:
			if tr.Error != nil {
				t.Fatalf("publish (%s): %v", what, tr.Error)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("publish (%s): no reply within 30s", what)
		}
	}
	for _, b := range bodies {
		what := fmt.Sprintf("PUB of %d bytes", len(b))
		if err := p.PublishAsync(topic, b, done); err != nil {
			t.Fatal(err)
		}
		published(what)
		need[string(b)]++
		receive(what)
	}
	if err := p.MultiPublishAsync(topic, bodies, done); err != nil {
		t.Fatal(err)
	}
	published("MPUB of every size")
	for _, b := range bodies {
		need[string(b)]++
	}
	receive("MPUB of every size")
	checkClientFlags(t, srv, "producer", topic, m.flags())
	checkClientFlags(t, srv, "consumer", topic, m.flags())
}

// TestCompressionBoundariesNSQJS runs integration/nsqjs/sizes.js: an
// nsqjs Writer and Reader in each wire mode, bodies across the buffer
// boundaries, against our nsqd and NSQ's. The script checks /stats itself.
func TestCompressionBoundariesNSQJS(t *testing.T) {
	node := nodeWithNSQJS(t)
	servers := boundaryServers(t)
	sizes := make([]string, len(boundarySizes))
	for i, n := range boundarySizes {
		sizes[i] = strconv.Itoa(n)
	}
	for _, srv := range servers {
		srv.run(t, func(t *testing.T) {
			for _, m := range wireModes {
				t.Run(m.name, func(t *testing.T) {
					opts := map[string]any{"tls": m.tls, "tlsVerification": false, "snappy": m.snappy,
						"heartbeatInterval": boundaryHeartbeat / time.Second}
					if m.deflateLevel > 0 {
						opts["deflate"], opts["deflateLevel"] = true, m.deflateLevel
					}
					js, _ := json.Marshal(opts)
					out := runNode(t, node, "sizes.js", port(srv.tcp), port(srv.http), "nsqjs_"+m.name, string(js), strings.Join(sizes, ","))
					if !strings.Contains(out, "OK sizes") {
						t.Fatalf("nsqjs against %s:\n%s", srv.name, out)
					}
				})
			}
		})
	}
}

// clientFlags are the negotiated features of a client in /stats.
type clientFlags struct {
	TLS     bool `json:"tls"`
	Snappy  bool `json:"snappy"`
	Deflate bool `json:"deflate"`
}

// checkClientFlags finds in srv's /stats the producer that published to
// topic, or the one consumer of topic's channel "ch", and compares its
// negotiated features with want.
func checkClientFlags(t *testing.T, srv boundaryServer, who, topic string, want clientFlags) {
	t.Helper()
	resp, err := http.Get("http://" + srv.http + "/stats?format=json&topic=" + topic)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type client struct {
		clientFlags
		PubCounts []struct {
			Topic string `json:"topic"`
		} `json:"pub_counts"`
	}
	var s struct {
		Topics []struct {
			Channels []struct {
				Name    string   `json:"channel_name"`
				Clients []client `json:"clients"`
			} `json:"channels"`
		} `json:"topics"`
		Producers []client `json:"producers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("%s /stats: %v", srv.name, err)
	}
	var found []clientFlags
	if who == "producer" {
		for _, p := range s.Producers {
			for _, pc := range p.PubCounts {
				if pc.Topic == topic {
					found = append(found, p.clientFlags)
				}
			}
		}
	} else {
		for _, tp := range s.Topics {
			for _, ch := range tp.Channels {
				for _, c := range ch.Clients {
					if ch.Name == "ch" {
						found = append(found, c.clientFlags)
					}
				}
			}
		}
	}
	if len(found) != 1 || found[0] != want {
		t.Errorf("%s of %s in %s /stats: %+v, want one with %+v", who, topic, srv.name, found, want)
	}
}

// nodeWithNSQJS returns the node binary, skipping the test (or failing it
// when NSQ_REQUIRE_INTEROP is true) when node or the pinned nsqjs is
// missing.
func nodeWithNSQJS(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testutil.Missing(t, "NSQ_REQUIRE_INTEROP", "node is not installed", "install node and npm, then `make interop-deps`")
	}
	if _, err := os.Stat(filepath.Join("nsqjs", "node_modules", "nsqjs")); err != nil {
		testutil.Missing(t, "NSQ_REQUIRE_INTEROP", fmt.Sprintf("nsqjs is not installed (%v)", err), "`make interop-deps`, which needs npm")
	}
	return node
}

// runNode runs a script in nsqjs/ for at most 300 s and returns its
// combined output.
func runNode(t *testing.T, node string, args ...string) string {
	t.Helper()
	cmd := exec.Command(node, args...)
	cmd.Dir = "nsqjs"
	var out testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Sprintf("%s\n(exit: %v)", out.String(), err)
		}
	case <-time.After(300 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String() + "\n(killed after 300s)"
	}
	return out.String()
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
