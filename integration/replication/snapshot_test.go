package replication

import (
	"fmt"
	"sync"
	"testing"
	"time"

	nsq "github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
)

// TestReplicatedSnapshotCatchUp: node 3 is down while node 1 takes many
// MPUB batches that a consumer finishes, and a backlog that nobody
// consumes; group 1 snapshots and compacts its log on nodes 1 and 2 past
// everything node 3 has. Node 3 comes back and catches up through a
// snapshot (its /stats counts the install). Then node 2 is killed, more
// backlog is committed on nodes 1 and 3, node 1 is killed and node 2
// restarted behind: only node 3 can lead group 1, and it delivers the
// whole backlog (the entries it got inside the snapshot and after it).
func TestReplicatedSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, "--replication-snapshot-entries=25", "--log-segment-bytes=16384")
	c.waitHomeLeaders(60 * time.Second)
	for _, n := range c.nodes {
		for _, path := range []string{"/topic/create?topic=snapdone", "/channel/create?topic=snapdone&channel=ch",
			"/topic/create?topic=snapkept", "/channel/create?topic=snapkept&channel=ch"} {
			resp, err := httpc.Post("http://"+n.http+path, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(resp); resp.StatusCode != 200 {
				t.Fatalf("%s on node %d: %d %s", path, n.id, resp.StatusCode, body)
			}
		}
	}
	c.waitConverged(60 * time.Second)
	before := c.stats(2)
	if before == nil {
		t.Fatal("no stats from node 3")
	}
	xLast := groupOf(before, 1).applied
	c.kill(2)

	p := producer(t, c.nodes[0].tcp)
	done := newJournal()
	consume(t, c.lookupHTTP, "snapdone", "ch", done)
	var doneWant []string
	round := func(r int) {
		t.Helper()
		for b := 0; b < 20; b++ {
			var bodies [][]byte
			for k := 0; k < 20; k++ {
				body := fmt.Sprintf("done-%d-%d-%d-%0180d", r, b, k, 0)
				bodies = append(bodies, []byte(body))
				doneWant = append(doneWant, body)
			}
			if err := p.MultiPublish("snapdone", bodies); err != nil {
				t.Fatalf("mpub: %v", err)
			}
		}
		waitAll(t, done, doneWant, 120*time.Second)
	}
	round(0)
	var keptWant []string
	keep := func(what string, n int) {
		t.Helper()
		for b := 0; b < n; b++ {
			var bodies [][]byte
			for k := 0; k < 20; k++ {
				bodies = append(bodies, fmt.Appendf(nil, "kept-%s-%d-%d", what, b, k))
				keptWant = append(keptWant, string(bodies[k]))
			}
			if err := p.MultiPublish("snapkept", bodies); err != nil {
				t.Fatalf("mpub: %v", err)
			}
		}
	}
	keep("a", 5)
	// More finished traffic until group 1's log on node 1 starts past
	// what node 3 holds (bounded: 20 rounds of 400 messages).
	compacted := func() bool {
		s := c.stats(0)
		return s != nil && groupOf(s, 1).snap.LogFirstIndex > xLast+1
	}
	for r := 1; r <= 20 && !compacted(); r++ {
		round(r)
	}
	if err := testutil.Poll(60*time.Second, compacted); err != nil {
		t.Fatalf("group 1's log on node 1 not compacted past node 3's index %d: %+v", xLast, groupOf(c.stats(0), 1).snap)
	}
	g1 := groupOf(c.stats(0), 1)
	t.Logf("node 1, group 1: %+v (node 3 stopped at %d)", g1.snap, xLast)

	c.start(2)
	c.waitConverged(120 * time.Second)
	x := groupOf(c.stats(2), 1)
	if x.snap.Installed == 0 {
		t.Fatalf("node 3 caught up without a snapshot: %+v", x.snap)
	}
	t.Logf("node 3, group 1 after catching up: %+v", x.snap)

	var err error
	c.kill(1)
	keep("b", 3) // committed on nodes 1 and 3 only
	c.kill(0)
	c.start(1)
	err = testutil.Poll(120*time.Second, func() bool {
		s := c.stats(2)
		return s != nil && groupOf(s, 1).leader == 3
	})
	if err != nil {
		t.Fatalf("node 3 does not lead group 1: %+v", groupOf(c.stats(2), 1))
	}
	kept := newJournal()
	var mu sync.Mutex // guards senders
	senders := map[string]int{}
	cfg := nsq.NewConfig()
	cfg.LookupdPollInterval = time.Second
	cfg.MaxInFlight = 50
	cons, err := nsq.NewConsumer("snapkept", "ch", cfg)
	if err != nil {
		t.Fatal(err)
	}
	cons.SetLogger(nil, nsq.LogLevelError)
	cons.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		mu.Lock()
		senders[m.NSQDAddress]++
		mu.Unlock()
		kept.add(string(m.Body))
		return nil
	}))
	if err := cons.ConnectToNSQLookupd("http://" + c.lookupHTTP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cons.Stop)
	waitAll(t, kept, keptWant, 120*time.Second)
	mu.Lock()
	for addr, n := range senders {
		if addr != c.nodes[2].tcp {
			t.Errorf("%d backlog messages came from %s, not node 3 (%s), the only leader of group 1", n, addr, c.nodes[2].tcp)
		}
	}
	mu.Unlock()
	_, dups := done.missing(doneWant)
	t.Logf("backlog of %d delivered by node 3 after the failover; %d duplicate deliveries of finished traffic in all", len(keptWant), dups)
	c.waitConverged(120 * time.Second)
}

// snapStats is a group's "snapshot" section of /stats.
type snapStats struct {
	Index           uint64 `json:"index"`
	RetainsFrom     uint64 `json:"retains_from"`
	LogFirstIndex   uint64 `json:"log_first_index"`
	Taken           uint64 `json:"taken"`
	Deferred        uint64 `json:"deferred"`
	Installed       uint64 `json:"installed"`
	SegmentsRemoved uint64 `json:"segments_removed"`
}

// snapGroupView is what the snapshot test reads of one group's stats.
type snapGroupView struct {
	leader, applied uint64
	snap            snapStats
}

// groupOf returns group id's view in s (zero if s is nil or lacks it).
func groupOf(s *replStats, id uint64) snapGroupView {
	if s != nil {
		for _, g := range s.Groups {
			if g.ID == id {
				return snapGroupView{leader: g.Leader, applied: g.AppliedIndex, snap: g.Snapshot}
			}
		}
	}
	return snapGroupView{}
}
