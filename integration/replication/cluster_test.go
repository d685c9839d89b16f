package replication

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

var binDir string

// binDirEnv hands the built binaries to the test process that
// TestReplicatedPartition re-runs inside a network namespace.
const binDirEnv = "NSQ_REPL_BIN_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(binDirEnv); dir != "" {
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nsq-replication")
	if err != nil {
		panic(err)
	}
	binDir = dir
	out, err := exec.Command("go", "build", "-o", dir+"/", "../../apps/nsqd", "../../apps/nsqlookupd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build failed: %s\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one nsqd of the cluster; its addresses and data stay the same
// across restarts.
type node struct {
	id              int
	tcp, http, repl string
	broadcast       string // the address it gives lookupd
	dir             string
	proc            *testutil.Proc
}

// cluster is nsqlookupd plus three replicated nsqd.
type cluster struct {
	t          testing.TB
	lookupTCP  string
	lookupHTTP string
	lookupd    *testutil.Proc
	nodes      []*node
	peers      string
	extra      []string
	// launch starts a node's process; nil: directly (StartProc)
	launch func(n *node, bin string, args []string) *testutil.Proc
}

func newCluster(t testing.TB, extra ...string) *cluster {
	t.Helper()
	addrs := testutil.FreeAddrs(t, 11)
	c := &cluster{t: t, lookupTCP: addrs[0], lookupHTTP: addrs[1], extra: extra}
	c.lookupd = testutil.StartProc(t, filepath.Join(binDir, "nsqlookupd"), nil,
		"--tcp-address="+c.lookupTCP, "--http-address="+c.lookupHTTP, "--broadcast-address=127.0.0.1")
	c.lookupd.WaitHTTP(t, "http://"+c.lookupHTTP+"/ping", 20*time.Second)
	for i := 0; i < 3; i++ {
		n := &node{id: i + 1, tcp: addrs[2+3*i], http: addrs[3+3*i], repl: addrs[4+3*i], broadcast: "127.0.0.1", dir: t.TempDir()}
		c.nodes = append(c.nodes, n)
	}
	c.startAll()
	return c
}

// startAll sets the peer list from c.nodes and starts every node.
func (c *cluster) startAll() {
	c.t.Helper()
	var peers []string
	for _, n := range c.nodes {
		peers = append(peers, fmt.Sprintf("%d=%s", n.id, n.repl))
	}
	c.peers = strings.Join(peers, ",")
	for i := range c.nodes {
		c.start(i)
	}
}

// start runs node i (index 0..2) and waits until its /ping answers: 200,
// or 500 while its group has no quorum yet (the first node of a cluster).
func (c *cluster) start(i int) {
	c.t.Helper()
	n := c.nodes[i]
	args := append([]string{"--node-id=" + fmt.Sprint(n.id), "--tcp-address=" + n.tcp, "--http-address=" + n.http,
		"--https-address=", "--broadcast-address=" + n.broadcast, "--data-path=" + n.dir,
		"--lookupd-tcp-address=" + c.lookupTCP, "--replication-peers=" + c.peers,
		"--replication-address=" + n.repl, "--msg-timeout=5s"}, c.extra...)
	var err error
	for attempt := 0; attempt < 20; attempt++ { // a port of the killed process may take a moment
		if c.launch != nil {
			n.proc = c.launch(n, filepath.Join(binDir, "nsqd"), args)
		} else {
			n.proc = testutil.StartProc(c.t, filepath.Join(binDir, "nsqd"), nil, args...)
		}
		err = testutil.Poll(30*time.Second, func() bool {
			if n.proc.Exited() {
				return true
			}
			resp, err := http.Get("http://" + n.http + "/ping")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200 || resp.StatusCode == 500
		})
		if err == nil && !n.proc.Exited() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("node %d did not start: %v\n%s", n.id, err, n.proc.Output())
}

// createChannel creates topic and its channel on every node (so every
// group's log holds the channel before any message).
func (c *cluster) createChannel(topic, channel string) {
	c.t.Helper()
	for _, n := range c.nodes {
		for _, path := range []string{"/topic/create?topic=" + topic, "/channel/create?topic=" + topic + "&channel=" + channel} {
			resp, err := httpc.Post("http://"+n.http+path, "", nil)
			if err != nil {
				c.t.Fatal(err)
			}
			readAll(resp)
		}
	}
}

// ping returns node i's /ping status and body (0 when it does not answer).
func (c *cluster) ping(i int) (int, string) {
	resp, err := httpc.Get("http://" + c.nodes[i].http + "/ping")
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, readAll(resp)
}

// kill kill -9s node i.
func (c *cluster) kill(i int) { c.nodes[i].proc.Kill(c.t) }

func (c *cluster) running(i int) bool { p := c.nodes[i].proc; return p != nil && !p.Exited() }

type replStats struct {
	NodeID uint64 `json:"node_id"`
	Factor int    `json:"factor"`
	Groups []struct {
		ID           uint64 `json:"id"`
		Leader       uint64 `json:"leader"`
		Term         uint64 `json:"term"`
		CommitIndex  uint64 `json:"commit_index"`
		AppliedIndex uint64 `json:"applied_index"`
		HasQuorum    bool   `json:"has_quorum"`
		MemberID     uint64 `json:"member_id"`
		Role         string `json:"role"`
		Members      []struct {
			NodeID     uint64 `json:"node_id"`
			MemberID   uint64 `json:"member_id"`
			Role       string `json:"role"`
			Address    string `json:"address"`
			MatchIndex uint64 `json:"match_index"`
			Lag        int64  `json:"lag"`
			Active     bool   `json:"active"`
		} `json:"members"`
		Snapshot snapStats `json:"snapshot"`
	} `json:"groups"`
}

var httpc = &http.Client{Timeout: 30 * time.Second}

// stats reads node i's replication section (nil on error).
func (c *cluster) stats(i int) *replStats {
	resp, err := httpc.Get("http://" + c.nodes[i].http + "/stats?format=json")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var s struct {
		Replication *replStats `json:"replication"`
	}
	if json.NewDecoder(resp.Body).Decode(&s) != nil {
		return nil
	}
	return s.Replication
}

// waitHomeLeaders polls until every running node leads its own group.
func (c *cluster) waitHomeLeaders(timeout time.Duration) {
	c.t.Helper()
	err := testutil.Poll(timeout, func() bool {
		for i := range c.nodes {
			if !c.running(i) {
				continue
			}
			s := c.stats(i)
			if s == nil || len(s.Groups) == 0 || s.Groups[0].ID != uint64(i+1) || s.Groups[0].Leader != uint64(i+1) {
				return false
			}
		}
		return true
	})
	if err != nil {
		c.t.Fatalf("nodes do not lead their own groups within %s", timeout)
	}
}

// waitConverged polls until, for every group, all running members report
// the same commit index and have applied it.
func (c *cluster) waitConverged(timeout time.Duration) map[uint64]uint64 {
	c.t.Helper()
	var commits map[uint64]uint64
	err := testutil.Poll(timeout, func() bool {
		commits = map[uint64]uint64{}
		for i := range c.nodes {
			if !c.running(i) {
				continue
			}
			s := c.stats(i)
			if s == nil {
				return false
			}
			for _, g := range s.Groups {
				if g.Leader == 0 || g.AppliedIndex != g.CommitIndex {
					return false
				}
				if prev, ok := commits[g.ID]; ok && prev != g.CommitIndex {
					return false
				}
				commits[g.ID] = g.CommitIndex
			}
		}
		return true
	})
	if err != nil {
		c.t.Fatalf("groups did not converge within %s", timeout)
	}
	return commits
}

// httpPub publishes one message over HTTP; ok only on 200 "OK".
func httpPub(addr, topic string, body []byte) (int, error) {
	resp, err := httpc.Post("http://"+addr+"/pub?topic="+topic, "application/octet-stream", strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(bufio.NewReader(resp.Body))
	if resp.StatusCode != 200 || string(b) != "OK" {
		return resp.StatusCode, fmt.Errorf("HTTP %d %s", resp.StatusCode, b)
	}
	return 200, nil
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
