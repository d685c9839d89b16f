package replication

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/testutil/netlab"
)

// The partition test (issue 15, proof 3): the crash loop's cluster and
// checker, with each nsqd in a network namespace of its own instead of on
// 127.0.0.1, and links cut instead of processes killed. Every namespace
// has two links to the lab's switch: network 0 (10.251.0.<id>) carries
// clients and lookupd, network 1 (10.251.1.<id>) replication, so a cut can
// isolate a node completely or only from its peers (its clients still
// reach it and must not be told OK for what its group did not commit).
// nsqlookupd, the producers and the go-nsq consumers run in a namespace of
// their own (labClient), never cut: the test re-runs itself there
// (netlab.Reexec), since go-nsq dials from goroutines of its own.
//
// Each cycle picks a victim, in turn: the leader of group 1 (which the
// producers publish to) on every link; that leader on the replication
// network only; a node that does not lead group 1; that leader on the
// replication network only again, this time held until its /ping reports
// the lost quorum and two flaps more, past --replication-propose-timeout
// (and after the heal until /ping reports OK again). It cuts the victim
// for partitionFlap and heals it for partitionFlap. NSQ_PARTITION_CYCLES sets the cycles (default 8) and
// NSQ_PARTITION_SECONDS bounds the cycling phase (default 120);
// scripts/repl-partition.sh runs 100 cycles. Then the load stops and the
// consumers drain: every acknowledged message delivered (duplicates
// reported), every group's committed log identical on its members.

// labClient is the lab member holding nsqlookupd and the test's clients.
const labClient = 100

// labReplNet is the lab network carrying replication traffic.
const labReplNet = 1

// partitionFlap is how long a link stays cut, and then up.
const partitionFlap = 2 * time.Second

func TestReplicatedPartition(t *testing.T) {
	lab := netlab.Inside(t)
	if lab == nil {
		if why := netlab.Unavailable(); why != "" {
			testutil.Skip(t, "the partition test runs each nsqd in a network namespace: "+why)
		}
		lab = netlab.New(t, 1, 2, 3, labClient)
		if k := lab.AddNetwork(1, 2, 3); k != labReplNet {
			t.Fatalf("replication network is %d, want %d", k, labReplNet)
		}
		lab.Reexec(t, labClient, "^TestReplicatedPartition$", binDirEnv+"="+binDir)
		return
	}
	runPartition(t, lab)
}

// newLabCluster is newCluster inside lab: nsqlookupd here (in labClient's
// namespace), node i in namespace i, clients on network 0, replication on
// labReplNet. Every address is the lab's, so the ports are fixed.
func newLabCluster(t *testing.T, lab *netlab.Lab, extra ...string) *cluster {
	t.Helper()
	client := lab.Addr(labClient)
	c := &cluster{t: t, lookupTCP: client + ":4160", lookupHTTP: client + ":4161", extra: extra}
	c.lookupd = testutil.StartProc(t, filepath.Join(binDir, "nsqlookupd"), nil,
		"--tcp-address="+c.lookupTCP, "--http-address="+c.lookupHTTP, "--broadcast-address="+client)
	c.lookupd.WaitHTTP(t, "http://"+c.lookupHTTP+"/ping", 20*time.Second)
	for id := uint64(1); id <= 3; id++ {
		a := lab.Addr(id)
		c.nodes = append(c.nodes, &node{id: int(id), tcp: a + ":4150", http: a + ":4151",
			repl: lab.AddrOn(labReplNet, id) + ":4152", broadcast: a, dir: t.TempDir()})
	}
	c.launch = func(n *node, bin string, args []string) *testutil.Proc {
		return testutil.StartCmd(t, lab.Command(uint64(n.id), bin, args...))
	}
	c.startAll()
	return c
}

// waitPing polls node i's /ping until it answers code with a body starting
// with prefix, and fails the test after timeout.
func (c *cluster) waitPing(i, code int, prefix string, timeout time.Duration) {
	c.t.Helper()
	var got int
	var body string
	if err := testutil.Poll(timeout, func() bool {
		got, body = c.ping(i)
		return got == code && strings.HasPrefix(body, prefix)
	}); err != nil {
		c.t.Fatalf("node %d's /ping answers %d %q, not %d %q..., after %s", i+1, got, body, code, prefix, timeout)
	}
}

// quickc asks nodes that may be cut off: it gives up soon.
var quickc = &http.Client{Timeout: 3 * time.Second}

// leaderOf returns the leader of group g that the node of the highest term
// reports, polling until one is known (0 after timeout).
func (c *cluster) leaderOf(g uint64, timeout time.Duration) uint64 {
	var leader uint64
	testutil.Poll(timeout, func() bool {
		var term uint64
		leader = 0
		for _, n := range c.nodes {
			resp, err := quickc.Get("http://" + n.http + "/stats?format=json")
			if err != nil {
				continue
			}
			var s struct {
				Replication *replStats `json:"replication"`
			}
			err = json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
			if err != nil || s.Replication == nil {
				continue
			}
			for _, gs := range s.Replication.Groups {
				if gs.ID == g && gs.Leader != 0 && gs.Term >= term {
					leader, term = gs.Leader, gs.Term
				}
			}
		}
		return leader != 0
	})
	return leader
}

func runPartition(t *testing.T, lab *netlab.Lab) {
	cycles := envInt("NSQ_PARTITION_CYCLES", 8)
	budget := time.Duration(envInt("NSQ_PARTITION_SECONDS", 120)) * time.Second
	c := newLabCluster(t, lab, "--replication-propose-timeout=3s")
	c.waitHomeLeaders(60 * time.Second)
	const topic = "part"
	c.createChannel(topic, "ch")
	j := newJournal()
	consume(t, c.lookupHTTP, topic, "ch", j)
	consume(t, c.lookupHTTP, topic, "ch", j)
	ld := startLoad(c, topic, 0) // node 1: group 1 takes the load
	if err := testutil.Poll(60*time.Second, func() bool { return ld.ack.count() >= 500 }); err != nil {
		t.Fatalf("only %d publishes acknowledged in 60s before the first cut", ld.ack.count())
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	start := time.Now()
	done, moved := 0, 0
	for cycle := 1; cycle <= cycles && time.Since(start) < budget; cycle++ {
		leader := c.leaderOf(1, 30*time.Second)
		if leader == 0 {
			t.Fatalf("cycle %d: no leader of group 1 known within 30s of healing every link", cycle)
		}
		victim, what := leader, "leader of group 1, every link"
		cut, heal := func() { lab.Cut(victim) }, func() { lab.Heal(victim) }
		long := false
		switch cycle % 4 {
		case 2, 0:
			what = "leader of group 1, replication link only"
			cut, heal = func() { lab.CutNet(labReplNet, victim) }, func() { lab.HealNet(labReplNet, victim) }
			long = cycle%4 == 0
		case 3:
			victim = 1 + (leader+uint64(rng.IntN(2)))%3 // one of the other two
			what = "not the leader of group 1, every link"
		}
		before, failedBefore := ld.ack.count(), ld.ack.failed.Load()
		cut()
		held := time.Now()
		time.Sleep(partitionFlap)
		if long {
			// its clients still reach it: it must say it cannot serve them
			// for longer than --replication-propose-timeout, so that the
			// publishes it holds are answered (E_PUB_FAILED / 503, never OK)
			what += ", until its /ping reports no quorum and 2 flaps more"
			c.waitPing(int(victim-1), 500, "NOK - replication group", 60*time.Second)
			time.Sleep(2 * partitionFlap)
		}
		heal()
		held2 := time.Since(held).Round(100 * time.Millisecond)
		if long {
			c.waitPing(int(victim-1), 200, "OK", 60*time.Second)
		}
		after := c.leaderOf(1, 30*time.Second)
		if after != leader {
			moved++
		}
		t.Logf("cycle %d: cut node %d (%s) for %s; group 1 led by %d before, %d after; acked %d (+%d), failed +%d",
			cycle, victim, what, held2, leader, after, ld.ack.count(), ld.ack.count()-before, ld.ack.failed.Load()-failedBefore)
		time.Sleep(partitionFlap)
		done++
	}
	want := ld.finish(t)
	dups := waitAll(t, j, want, 300*time.Second)
	t.Logf("PARTITION: cycles=%d (group 1's leader moved in %d) acked=%d (tcp %d, http %d) failed_publishes=%d lost=0 duplicates=%d",
		done, moved, len(want), ld.ack.tcp.Load(), ld.ack.http.Load(), ld.ack.failed.Load(), dups)
	if done == 0 {
		t.Fatal("no cycle ran")
	}

	commits := c.waitConverged(120 * time.Second)
	for i := range c.nodes {
		c.kill(i)
	}
	checkLogsIdentical(t, c, commits)
}
