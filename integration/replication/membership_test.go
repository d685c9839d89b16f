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
			if !slices.Equal(v.voters, want) || len(v.learners) > 0 || v.leader == 0 {
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

// restart stops node i (SIGTERM, then SIGKILL after 30 s) and starts it.
func (c *cluster) restart(i int) {
	c.t.Helper()
	c.nodes[i].proc.Signal(c.t, syscall.SIGTERM)
	if c.nodes[i].proc.Wait(c.t, 30*time.Second) < 0 {
		c.kill(i)
	}
	c.start(i)
}

// setPeers sets the peer list from c.nodes (started nodes keep theirs).
func (c *cluster) setPeers() {
	var peers []string
	for _, n := range c.nodes {
		peers = append(peers, fmt.Sprintf("%d=%s", n.id, n.repl))
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
// acknowledged message is lost.
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

	const victim = 2 // node 3
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
	m31 := memberID(3, 1)
	for g := uint64(1); g <= 3; g++ {
		c.waitVoters(g, []uint64{1, 2, m31}, 180*time.Second)
	}
	for g, v := range c.views(victim) {
		if v.memberID != m31 || v.role != "voter" {
			t.Fatalf("node 3, group %d: member %d role %s, want %d voter", g, v.memberID, v.role, m31)
		}
	}
	c.waitHomeLeaders(120 * time.Second)
	t.Logf("node 3 rejoined as member %d in every group (acked so far %d)", m31, ld.ack.count())

	for _, other := range []int{0, 1} {
		c.kill(other)
		waitAcked(t, ld, ld.ack.count()+300, 120*time.Second)
		c.start(other)
		c.waitHomeLeaders(120 * time.Second)
	}
	// Only one group's directory is lost (node 2's group 1): replication.json
	// says node 2 ran in it, so it rejoins as its next generation at once.
	c.kill(1)
	if err := os.RemoveAll(filepath.Join(c.nodes[1].dir, "groups", "1")); err != nil {
		t.Fatal(err)
	}
	c.start(1)
	c.waitVoters(1, []uint64{1, memberID(2, 1), m31}, 180*time.Second)
	c.waitHomeLeaders(120 * time.Second)

	want := ld.finish(t)
	dups := waitAll(t, j, want, 300*time.Second)
	c.waitConverged(120 * time.Second)
	t.Logf("LOSTDISK: acked=%d (tcp %d, http %d) failed_publishes=%d lost=0 duplicates=%d",
		len(want), ld.ack.tcp.Load(), ld.ack.http.Load(), ld.ack.failed.Load(), dups)
}
