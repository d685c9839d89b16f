package replication

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

// The crash loop (issue 15, proof 1): producers over TCP and HTTP publish
// to every node and journal each OK; go-nsq consumers through lookupd FIN
// and journal each delivery; one random node at a time is killed with -9
// and restarted. Then the load stops and the consumers drain: every
// acknowledged message must have been delivered (duplicates are reported,
// not failures), and every group's committed log must be identical on its
// members. NSQ_REPL_CYCLES sets the cycles (default 5);
// NSQ_REPL_MAX_GAP the upper bound of the pause between kills in seconds
// (default 4, from 2) and NSQ_REPL_MAX_DOWN how long a node stays dead
// (default 3, from 1); scripts/repl-crashloop.sh uses 10 and 5.

// acked is the producers' journal.
type acked struct {
	mu     sync.Mutex // guards bodies
	bodies []string
	tcp    atomic.Int64
	http   atomic.Int64
	failed atomic.Int64 // publishes answered with an error (not acknowledged)
}

func (a *acked) add(b string) {
	a.mu.Lock()
	a.bodies = append(a.bodies, b)
	a.mu.Unlock()
}

func (a *acked) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.bodies)
}

func (a *acked) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.bodies)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestReplicatedCrashLoop(t *testing.T) {
	cycles := envInt("NSQ_REPL_CYCLES", 5)
	maxGap := max(3, envInt("NSQ_REPL_MAX_GAP", 4))
	maxDown := max(2, envInt("NSQ_REPL_MAX_DOWN", 3))
	// NSQ_REPL_FLAGS: extra nsqd flags, e.g. "--replication-snapshot-entries=200
	// --log-segment-bytes=65536" so that groups compact and restarted nodes
	// catch up through snapshots.
	c := newCluster(t, strings.Fields(os.Getenv("NSQ_REPL_FLAGS"))...)
	c.waitHomeLeaders(60 * time.Second)
	const topic = "crash"
	c.createChannel(topic, "ch")
	j := newJournal()
	consume(t, c.lookupHTTP, topic, "ch", j)
	consume(t, c.lookupHTTP, topic, "ch", j)

	ld := startLoad(c, topic, -1)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	for cycle := 1; cycle <= cycles; cycle++ {
		time.Sleep(time.Duration(2000+rng.IntN(1000*(maxGap-1))) * time.Millisecond)
		victim := rng.IntN(3)
		c.kill(victim)
		t.Logf("cycle %d: killed node %d (acked so far %d)", cycle, victim+1, ld.ack.count())
		time.Sleep(time.Duration(1000+rng.IntN(1000*(maxDown-1))) * time.Millisecond)
		c.start(victim)
	}
	time.Sleep(2 * time.Second)
	want := ld.finish(t)
	dups := waitAll(t, j, want, 300*time.Second)
	t.Logf("CRASHLOOP: cycles=%d acked=%d (tcp %d, http %d) failed_publishes=%d lost=0 duplicates=%d",
		cycles, len(want), ld.ack.tcp.Load(), ld.ack.http.Load(), ld.ack.failed.Load(), dups)

	commits := c.waitConverged(120 * time.Second)
	for i := range c.nodes {
		for _, g := range c.stats(i).Groups {
			sn := g.Snapshot
			t.Logf("node %d group %d: snapshot %d retains from %d, log from %d; taken %d, deferred %d, installed %d, segments removed %d",
				i+1, g.ID, sn.Index, sn.RetainsFrom, sn.LogFirstIndex, sn.Taken, sn.Deferred, sn.Installed, sn.SegmentsRemoved)
		}
	}
	for i := range c.nodes {
		c.kill(i)
	}
	checkLogsIdentical(t, c, commits)
}

// checkLogsIdentical compares, record for record, every group's log on its
// members up to the group's commit index, from the first index every
// member still holds (1 unless a member compacted its log or installed a
// snapshot; the report says where the comparison started).
func checkLogsIdentical(t *testing.T, c *cluster, commits map[uint64]uint64) {
	t.Helper()
	for g, commit := range commits {
		logs := make([]*logstore.Log, len(c.nodes))
		from := uint64(1)
		for i, n := range c.nodes {
			l, err := logstore.Open(logstore.Options{FS: vfs.OS(), Dir: filepath.Join(n.dir, "groups", strconv.FormatUint(g, 10), "log")})
			if err != nil {
				t.Fatalf("group %d on node %d: %v", g, n.id, err)
			}
			defer l.Close()
			logs[i] = l
			from = max(from, l.FirstIndex())
		}
		if from > commit {
			t.Fatalf("group %d: a member's log starts at %d, past the commit index %d: nothing left to compare", g, from, commit)
		}
		var ref []logstore.Entry
		for i, l := range logs {
			var ents []logstore.Entry
			for next := from; next <= commit; {
				batch, err := l.Entries(next, commit+1, 8<<20)
				if err != nil {
					t.Fatalf("group %d on node %d: read from %d: %v", g, c.nodes[i].id, next, err)
				}
				ents = append(ents, batch...)
				next = batch[len(batch)-1].Index + 1
			}
			if ref == nil {
				ref = ents
				continue
			}
			if !slices.EqualFunc(ref, ents, func(a, b logstore.Entry) bool {
				return a.Index == b.Index && a.Term == b.Term && a.Kind == b.Kind && string(a.Data) == string(b.Data)
			}) {
				t.Fatalf("group %d: node %d's committed log differs from the first member's", g, c.nodes[i].id)
			}
		}
		t.Logf("group %d: committed records %d..%d identical on every member", g, from, commit)
	}
}
