package replication

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// memberID mirrors replication.MemberID: node | generation<<32.
func memberID(node int, gen uint32) uint64 { return uint64(node) | uint64(gen)<<32 }

// groupView is one group as node i reports it.
type groupView struct {
	memberID uint64
	role     string
	voters   []uint64
	learners []uint64
	leader   uint64
}

// views returns node i's groups by id (nil when it does not answer).
func (c *cluster) views(i int) map[uint64]groupView {
	s := c.stats(i)
	if s == nil {
		return nil
	}
	out := map[uint64]groupView{}
	for _, g := range s.Groups {
		v := groupView{memberID: g.MemberID, role: g.Role, leader: g.Leader}
		for _, m := range g.Members {
			if m.Role == "learner" {
				v.learners = append(v.learners, m.MemberID)
			} else {
				v.voters = append(v.voters, m.MemberID)
			}
		}
		slices.Sort(v.voters)
		out[g.ID] = v
	}
	return out
}

// waitVoters polls until, on every running node that is a voter of group
// g, the group's voters are want and it has no learners.
func (c *cluster) waitVoters(g uint64, want []uint64, timeout time.Duration) {
	c.t.Helper()
	c.waitVotersBy(g, want, func(id uint64) uint64 { return id }, timeout)
}

// waitVoterNodes is waitVoters on node ids, whatever their generation: for
// a node joining a group for the first time, which takes generation 0 when
// every other member answers its question in time and the next one when
// one is silent (safe either way: a new id never voted).
func (c *cluster) waitVoterNodes(g uint64, want []uint64, timeout time.Duration) {
	c.t.Helper()
	c.waitVotersBy(g, want, func(id uint64) uint64 { return id & 0xffffffff }, timeout)
}

func (c *cluster) waitVotersBy(g uint64, want []uint64, key func(uint64) uint64, timeout time.Duration) {
	c.t.Helper()
	slices.Sort(want)
	var last string
	err := testutil.Poll(timeout, func() bool {
		seen := 0
		for i := range c.nodes {
			if !c.running(i) {
				continue
			}
			vs := c.views(i)
			v, ok := vs[g]
			if !ok || v.role != "voter" {
				continue
			}
			seen++
			got := make([]uint64, len(v.voters))
			for k, id := range v.voters {
				got[k] = key(id)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) || len(v.learners) > 0 || v.leader == 0 {
				last = fmt.Sprintf("node %d: voters %v learners %v leader %d", i+1, v.voters, v.learners, v.leader)
				return false
			}
		}
		return seen > 0
	})
	if err != nil {
		c.t.Fatalf("group %d: voters not %v within %s (%s)", g, want, timeout, last)
	}
}

// stop stops node i cleanly (SIGTERM) and waits for it to exit.
func (c *cluster) stop(i int) {
	c.t.Helper()
	c.nodes[i].proc.Signal(c.t, syscall.SIGTERM)
	c.nodes[i].proc.Wait(c.t, 60*time.Second)
}

// setPeers sets the peer list to c.nodes but those of index skip (nodes
// started before keep the list they were started with).
func (c *cluster) setPeers(skip ...int) {
	var peers []string
	for i, n := range c.nodes {
		if !slices.Contains(skip, i) {
			peers = append(peers, fmt.Sprintf("%d=%s", n.id, n.repl))
		}
	}
	c.peers = strings.Join(peers, ",")
}

// waitAcked polls until the load acknowledged more than n messages.
func waitAcked(t *testing.T, ld *load, n int, timeout time.Duration) {
	t.Helper()
	if err := testutil.Poll(timeout, func() bool { return ld.ack.count() > n }); err != nil {
		t.Fatalf("load acknowledged %d, not more than %d, within %s", ld.ack.count(), n, timeout)
	}
}

// TestReplicatedLostDisk (issue 15, lost disk, nsqd level): under a
// publishing load with consumers journaling, follower node 3 is killed,
// its data directory deleted and the node restarted. It must come back
// as member MemberID(3, 1) in every group (a new member id: as member 3
// with an empty disk it would vote again in terms it voted in), be added
// by each group's leader, catch up, and replace member 3; node 3 then
// leads its group again. Then nodes 1 and 2 are killed in turn (the
// groups run on the rejoined node and one other), and node 2 loses only
// its directory of group 1 (it rejoins that group as MemberID(2, 1)): no
// acknowledged message is lost. NSQ_REPL_LOSTDISK_ROUNDS repeats the
// disk loss (nodes 3, 1, 2, 3, ... in turn; generations 2 and up).
func TestReplicatedLostDisk(t *testing.T) {
	c := newCluster(t, "--replication-snapshot-entries=500")
	c.waitHomeLeaders(60 * time.Second)
	const topic = "lostdisk"
	c.createChannel(topic, "ch")
	j := newJournal()
	consume(t, c.lookupHTTP, topic, "ch", j)
	consume(t, c.lookupHTTP, topic, "ch", j)
	ld := startLoad(c, topic, -1)
	waitAcked(t, ld, 1500, 120*time.Second)

	// gens[g][i]: the generation node i+1 runs in group g.
	gens := map[uint64][]uint32{1: {0, 0, 0}, 2: {0, 0, 0}, 3: {0, 0, 0}}
	voters := func(g uint64) []uint64 {
		var out []uint64
		for i, gen := range gens[g] {
			out = append(out, memberID(i+1, gen))
		}
		return out
	}
	rounds := envInt("NSQ_REPL_LOSTDISK_ROUNDS", 1)
	for round := 0; round < rounds; round++ {
		victim := (2 + round) % 3 // node 3 first
		c.kill(victim)
		dir := c.nodes[victim].dir
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		waitAcked(t, ld, ld.ack.count()+300, 120*time.Second)
		c.start(victim)
		for g := uint64(1); g <= 3; g++ {
			gens[g][victim]++
			c.waitVoters(g, voters(g), 180*time.Second)
		}
		for g, v := range c.views(victim) {
			if want := memberID(victim+1, gens[g][victim]); v.memberID != want || v.role != "voter" {
				t.Fatalf("node %d, group %d: member %d role %s, want %d voter", victim+1, g, v.memberID, v.role, want)
			}
		}
		c.waitHomeLeaders(120 * time.Second)
		t.Logf("round %d: node %d rejoined as generation %d of every group (acked so far %d)", round, victim+1, gens[1][victim], ld.ack.count())

		for _, other := range []int{(victim + 1) % 3, (victim + 2) % 3} {
			c.kill(other)
			waitAcked(t, ld, ld.ack.count()+300, 120*time.Second)
			c.start(other)
			c.waitHomeLeaders(120 * time.Second)
		}
	}
	// Only one group's directory is lost (node 2's group 1): replication.json
	// says node 2 ran in it, so it rejoins as its next generation at once.
	c.kill(1)
	if err := os.RemoveAll(filepath.Join(c.nodes[1].dir, "groups", "1")); err != nil {
		t.Fatal(err)
	}
	c.start(1)
	gens[1][1]++
	c.waitVoters(1, voters(1), 180*time.Second)
	c.waitHomeLeaders(120 * time.Second)

	want := ld.finish(t)
	dups := waitAll(t, j, want, 300*time.Second)
	c.waitConverged(120 * time.Second)
	t.Logf("LOSTDISK: acked=%d (tcp %d, http %d) failed_publishes=%d lost=0 duplicates=%d",
		len(want), ld.ack.tcp.Load(), ld.ack.http.Load(), ld.ack.failed.Load(), dups)
}

// TestReplicatedAddRemoveNode: the procedure of docs/replication.md
// ("Adding and removing a node"), under a publishing load with consumers
// journaling. A 4th node is added: every node is restarted in turn with
// the 4-node --replication-peers, then node 4 starts; each group's leader
// moves its group to the new ring (node 4 added as learner, caught up,
// the node leaving the group removed, node 4 promoted) and group 4 starts
// on {4,1,2}. Then node 1 is removed: it is stopped and the others are
// restarted in turn with the list without it; groups 2-4 move to {2,3,4}
// and group 1, whose node left, keeps being served by its remaining
// members {2,3}. Every acknowledged message is delivered.
func TestReplicatedAddRemoveNode(t *testing.T) {
	c := newCluster(t)
	c.waitHomeLeaders(60 * time.Second)
	const topic = "members"
	c.createChannel(topic, "ch")
	j := newJournal()
	consume(t, c.lookupHTTP, topic, "ch", j)
	consume(t, c.lookupHTTP, topic, "ch", j)
	ld := startLoad(c, topic, -1)
	waitAcked(t, ld, 1000, 120*time.Second)

	addrs := testutil.FreeAddrs(t, 3)
	c.nodes = append(c.nodes, &node{id: 4, tcp: addrs[0], http: addrs[1], repl: addrs[2], broadcast: "127.0.0.1", dir: t.TempDir()})
	c.setPeers()
	for i := 0; i < 3; i++ {
		c.stop(i)
		c.start(i)
		waitAcked(t, ld, ld.ack.count()+100, 120*time.Second)
	}
	c.start(3)
	for g, want := range map[uint64][]uint64{1: {1, 2, 3}, 2: {2, 3, 4}, 3: {3, 4, 1}, 4: {4, 1, 2}} {
		c.waitVoters(g, want, 180*time.Second)
	}
	c.waitHomeLeaders(120 * time.Second)
	t.Logf("node 4 added (acked so far %d)", ld.ack.count())

	c.stop(0)
	c.setPeers(0)
	for i := 1; i < 4; i++ {
		c.stop(i)
		c.start(i)
		waitAcked(t, ld, ld.ack.count()+100, 120*time.Second)
	}
	// Node 2 left group 3 when node 4 came; it comes back to it as its
	// next generation (a member id is never reused). Node 3 joins group 4
	// for the first time: generation 0 or 1 (waitVoterNodes).
	for g, want := range map[uint64][]uint64{1: {2, 3}, 2: {2, 3, 4}, 3: {memberID(2, 1), 3, 4}} {
		c.waitVoters(g, want, 180*time.Second)
	}
	c.waitVoterNodes(4, []uint64{2, 3, 4}, 180*time.Second)
	c.waitHomeLeaders(120 * time.Second)
	t.Logf("node 1 removed (acked so far %d)", ld.ack.count())

	want := ld.finish(t)
	dups := waitAll(t, j, want, 300*time.Second)
	c.waitConverged(120 * time.Second)
	t.Logf("ADDREMOVE: acked=%d (tcp %d, http %d) failed_publishes=%d lost=0 duplicates=%d",
		len(want), ld.ack.tcp.Load(), ld.ack.http.Load(), ld.ack.failed.Load(), dups)
}

// TestReplicatedLostDiskNoQuorum: messages are acknowledged while node 2
// is down (so only nodes 1 and 3 hold them); then node 1 goes down too
// and node 3's disk is replaced. Node 2 and the new node 3 are two of
// three machines, but the new member must not count: as member 3 with an
// empty disk it would let node 2, which lacks those messages, lead and
// lose them. No publish to node 2 or 3 is answered OK; once node 1 is
// back, node 3 is added as MemberID(3, 1) and every acknowledged message
// is delivered.
func TestReplicatedLostDiskNoQuorum(t *testing.T) {
	c := newCluster(t, "--replication-propose-timeout=2s")
	c.waitHomeLeaders(60 * time.Second)
	const topic = "noquorum"
	c.createChannel(topic, "ch")
	var acked []string
	pub := func(i int, body string) {
		t.Helper()
		if _, err := httpPub(c.nodes[i].http, topic, []byte(body)); err != nil {
			t.Fatalf("publish %s to node %d: %v", body, i+1, err)
		}
		acked = append(acked, body)
	}
	for i := range c.nodes {
		for k := 0; k < 20; k++ {
			pub(i, fmt.Sprintf("all-%d-%d", i+1, k))
		}
	}
	c.kill(1)
	for _, i := range []int{0, 2} {
		for k := 0; k < 20; k++ {
			pub(i, fmt.Sprintf("only13-%d-%d", i+1, k))
		}
	}
	c.kill(0)
	c.kill(2)
	dir := c.nodes[2].dir
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.start(1)
	c.start(2)
	if err := testutil.Poll(60*time.Second, func() bool {
		v, ok := c.views(2)[3]
		return ok && v.memberID == memberID(3, 1) && v.role == "joining"
	}); err != nil {
		t.Fatalf("node 3 does not wait to join group 3 as member %d: %+v", memberID(3, 1), c.views(2))
	}
	for _, i := range []int{1, 2} {
		for k := 0; k < 2; k++ {
			if _, err := httpPub(c.nodes[i].http, topic, fmt.Appendf(nil, "never-%d-%d", i+1, k)); err == nil {
				t.Fatalf("node %d answered OK with node 2 and the new node 3 only", i+1)
			}
		}
	}
	c.start(0)
	for g := uint64(1); g <= 3; g++ {
		c.waitVoters(g, []uint64{1, 2, memberID(3, 1)}, 180*time.Second)
	}
	j := newJournal()
	consume(t, c.lookupHTTP, topic, "ch", j)
	dups := waitAll(t, j, acked, 120*time.Second)
	t.Logf("NOQUORUM: acked=%d lost=0 duplicates=%d", len(acked), dups)
}
