package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	nsq "github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/testutil/gonsqtest"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nsq-integration")
	if err != nil {
		panic(err)
	}
	binDir = dir
	out, err := exec.Command("go", "build", "-o", dir+"/", "../apps/nsqd", "../apps/nsqlookupd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build failed: %s\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a daemon process with its two addresses.
type proc struct {
	*testutil.Proc
	name      string
	tcp, http string
}

// startProc runs bin (a name in binDir, or an absolute path) on two free
// 127.0.0.1 ports and waits for its /ping.
func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	addrs := testutil.FreeAddrs(t, 2)
	p := &proc{name: name, tcp: addrs[0], http: addrs[1]}
	args = append([]string{"--tcp-address=" + p.tcp, "--http-address=" + p.http, "--broadcast-address=127.0.0.1"}, args...)
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(binDir, bin)
	}
	p.Proc = testutil.StartProc(t, bin, nil, args...)
	p.WaitHTTP(t, "http://"+p.http+"/ping", 15*time.Second)
	return p
}

func startNSQD(t *testing.T, name string, lookupds ...*proc) *proc {
	args := []string{"--data-path=" + t.TempDir(), "--https-address=", "--log-level=warn"}
	for _, l := range lookupds {
		args = append(args, "--lookupd-tcp-address="+l.tcp)
	}
	return startProc(t, name, "nsqd", args...)
}

// lookupProducers returns the tcp ports /lookup lists for topic.
func lookupProducers(t *testing.T, lookupd *proc, topic string) map[string]bool {
	resp, err := http.Get("http://" + lookupd.http + "/lookup?topic=" + topic)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Producers []struct {
			BroadcastAddress string `json:"broadcast_address"`
			TCPPort          int    `json:"tcp_port"`
		} `json:"producers"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return nil
	}
	out := map[string]bool{}
	for _, p := range body.Producers {
		out[fmt.Sprintf("%s:%d", p.BroadcastAddress, p.TCPPort)] = true
	}
	return out
}

func publish(t *testing.T, n *proc, topic, body string) {
	t.Helper()
	resp, err := http.Post("http://"+n.http+"/pub?topic="+topic, "text/plain", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("publish to %s: %v %v", n.name, err, resp)
	}
	resp.Body.Close()
}

type quietLogger struct{}

func (quietLogger) Output(int, string) error { return nil }

// TestTopology runs 3 nsqd and 2 nsqlookupd; a go-nsq consumer that knows
// only the lookupds receives from every nsqd, survives an nsqd dying, a
// hung nsqd expiring, a lookupd dying, and discovers a 4th nsqd.
func TestTopology(t *testing.T) {
	const topic = "topo"
	lookupArgs := []string{"--inactive-producer-timeout=20s", "--log-level=warn"}
	l1 := startProc(t, "lookupd1", "nsqlookupd", lookupArgs...)
	l2 := startProc(t, "lookupd2", "nsqlookupd", lookupArgs...)
	nsqds := []*proc{
		startNSQD(t, "nsqd1", l1, l2),
		startNSQD(t, "nsqd2", l1, l2),
		startNSQD(t, "nsqd3", l1, l2),
	}
	for _, n := range nsqds {
		publish(t, n, topic, "hello from "+n.name) // creates the topic, registers it
	}
	for _, l := range []*proc{l1, l2} {
		l := l
		testutil.Eventually(t, 20*time.Second, func() bool { return len(lookupProducers(t, l, topic)) == 3 },
			"%s lists all 3 nsqd", l.name)
	}

	got := gonsqtest.Consume(t, topic, "ch", gonsqtest.Options{Lookupds: []string{l1.http, l2.http}, Config: func(c *nsq.Config) {
		c.LookupdPollInterval = time.Second
		c.MaxInFlight = 10
	}})

	receives := func(n *proc, body string) {
		t.Helper()
		publish(t, n, topic, body)
		testutil.Eventually(t, 30*time.Second, func() bool { return got.Has(body) }, "consumer got %q", body)
	}
	for _, n := range nsqds {
		testutil.Eventually(t, 30*time.Second, func() bool { return got.Has("hello from " + n.name) },
			"message published before the consumer started, on %s", n.name)
		for i := 0; i < 20; i++ {
			receives(n, fmt.Sprintf("%s-%d", n.name, i))
		}
	}

	// kill nsqd1: it leaves /lookup, the consumer keeps receiving
	nsqds[0].Kill(t)
	for _, l := range []*proc{l1, l2} {
		testutil.Eventually(t, 20*time.Second, func() bool {
			p := lookupProducers(t, l, topic)
			return p != nil && !p[nsqds[0].tcp] && len(p) == 2
		}, "killed nsqd1 leaves %s /lookup", l.name)
	}
	receives(nsqds[1], "after kill 2")
	receives(nsqds[2], "after kill 3")

	// hang nsqd3 (SIGSTOP): its connections stay open, its PINGs stop, and
	// it drops out of /lookup after --inactive-producer-timeout
	nsqds[2].Signal(t, syscall.SIGSTOP)
	testutil.Eventually(t, 60*time.Second, func() bool {
		p := lookupProducers(t, l1, topic)
		return p != nil && !p[nsqds[2].tcp] && p[nsqds[1].tcp]
	}, "hung nsqd3 expires from /lookup")
	receives(nsqds[1], "while nsqd3 hangs")
	nsqds[2].Kill(t)

	// kill lookupd1: discovery goes on through lookupd2, and a new nsqd is
	// found within the consumer's poll interval
	l1.Kill(t)
	n4 := startNSQD(t, "nsqd4", l1, l2)
	publish(t, n4, topic, "from the new node")
	testutil.Eventually(t, 30*time.Second, func() bool { return got.Has("from the new node") },
		"a 4th nsqd is discovered through the remaining lookupd")
	receives(nsqds[1], "still nsqd2")
	receives(n4, "again nsqd4")
}
