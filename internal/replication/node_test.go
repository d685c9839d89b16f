package replication

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

const kindTest logstore.Kind = 1

// testMember is one node of a test group with its own disk.
type testMember struct {
	id uint64
	fs *vfs.MemFS
	st *Storage
	n  atomic.Pointer[Node] // read by proposing goroutines

	mu      sync.Mutex // guards applied
	applied []logstore.Entry

	join     bool         // a new member: its storage starts with Join
	restores atomic.Int32 // snapshots restored into applied
}

func (m *testMember) appliedCopy() []logstore.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.applied)
}

// testGroup is an in-process group on a MemNetwork, every member on its
// own strict MemFS.
type testGroup struct {
	t       testing.TB
	net     *MemNetwork
	members map[uint64]*testMember
	timeout time.Duration // ProposeTimeout

	// With tcp set, every member has its own TCPTransport (addrs keeps
	// its address across restarts) instead of the MemNetwork.
	tcp   bool
	addrs map[uint64]string
	trans map[uint64]*TCPTransport

	// Snapshots: members get a StateMachine (their applied list) and take
	// a snapshot every snapEvery entries, keeping catchUp below it.
	snapEvery, catchUp uint64
	segBytes           int64 // default 64 KiB
}

func newTestGroup(t testing.TB, ids ...uint64) *testGroup {
	return newGroup(t, false, ids...)
}

func newGroup(t testing.TB, tcp bool, ids ...uint64) *testGroup {
	return startGroup(&testGroup{t: t, tcp: tcp}, ids...)
}

// startGroup fills in g's maps and defaults and starts members ids.
func startGroup(g *testGroup, ids ...uint64) *testGroup {
	g.net, g.members = NewMemNetwork(), map[uint64]*testMember{}
	g.addrs, g.trans = map[uint64]string{}, map[uint64]*TCPTransport{}
	if g.timeout == 0 {
		g.timeout = 5 * time.Second
	}
	for _, id := range ids {
		g.members[id] = &testMember{id: id, fs: vfs.NewMemFS()}
		if g.tcp {
			g.addrs[id] = "127.0.0.1:0"
			g.startTransport(id)
		}
	}
	for _, id := range ids {
		g.start(id)
	}
	g.t.Cleanup(func() {
		for id := range g.members {
			g.stop(id)
		}
	})
	return g
}

func (g *testGroup) peers() []uint64 {
	var ids []uint64
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// startTransport listens on the member's address and dials its peers.
func (g *testGroup) startTransport(id uint64) {
	g.t.Helper()
	m := g.members[id]
	var tr *TCPTransport
	var err error
	for attempt := 0; attempt < 50; attempt++ { // a just-closed port may take a moment to rebind
		tr, err = NewTCPTransport(TCPOptions{Listen: g.addrs[id], Handler: func(group uint64, msg *pb.Message) {
			if n := m.n.Load(); n != nil && group == 7 {
				n.Receive(msg)
			}
		}, RedialDelay: 20 * time.Millisecond})
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		g.t.Fatal(err)
	}
	g.addrs[id] = tr.Addr()
	g.trans[id] = tr
	for pid, addr := range g.addrs {
		if pid == id {
			continue
		}
		tr.AddPeer(pid, addr)
		if other := g.trans[pid]; other != nil {
			other.AddPeer(id, tr.Addr())
		}
	}
}

// start opens the member's storage and starts its node; the state
// machine (the applied list) starts empty, so Applied is 0.
func (g *testGroup) start(id uint64) {
	g.t.Helper()
	m := g.members[id]
	seg := g.segBytes
	if seg == 0 {
		seg = 64 << 10
	}
	st, err := OpenStorage(StorageOptions{FS: m.fs, Dir: "/data", Peers: g.peers(), Join: m.join, SegmentBytes: seg})
	if err != nil {
		g.t.Fatal(err)
	}
	m.mu.Lock()
	m.applied = nil
	m.mu.Unlock()
	var tr Transport = g.net
	if g.tcp {
		if g.trans[id] == nil {
			g.startTransport(id)
		}
		tr = g.trans[id]
	}
	n, err := NewNode(Options{
		ID: id, Group: 7, Storage: st, Transport: tr,
		Apply: func(e logstore.Entry) error {
			m.mu.Lock()
			m.applied = append(m.applied, logstore.Entry{Index: e.Index, Term: e.Term, Kind: e.Kind, Data: slices.Clone(e.Data)})
			m.mu.Unlock()
			return nil
		},
		TickInterval: 10 * time.Millisecond, ElectionTicks: 20, HeartbeatTicks: 2,
		ProposeTimeout: g.timeout,
		Logf:           func(f string, a ...any) {},
		StateMachine:   (*testSM)(m), SnapshotEntries: g.snapEvery, CatchUpEntries: g.catchUp,
	})
	if err != nil {
		g.t.Fatal(err)
	}
	m.st = st
	m.n.Store(n)
	g.net.Register(id, func(group uint64, msg *pb.Message) {
		if group == 7 {
			n.Receive(msg)
		}
	})
}

// stop cuts the member off and stops it (a dead node).
func (g *testGroup) stop(id uint64) {
	m := g.members[id]
	n := m.n.Load()
	if n == nil {
		return
	}
	g.net.Unregister(id)
	n.Stop()
	m.st.Close()
	m.n.Store(nil)
	m.st = nil
	if tr := g.trans[id]; tr != nil {
		tr.Close()
		delete(g.trans, id)
	}
}

func (g *testGroup) running() []*testMember {
	var out []*testMember
	for _, id := range g.peers() {
		if m := g.members[id]; m.n.Load() != nil {
			out = append(out, m)
		}
	}
	return out
}

// waitLeader polls until a running member leads, for at most 20s.
func (g *testGroup) waitLeader() *testMember {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range g.running() {
			if n := m.n.Load(); n != nil && n.IsLeader() {
				return m
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.t.Fatal("no leader elected within 20s")
	return nil
}

// proposeAll proposes data through the current leader from a few
// goroutines, retrying on a leader change (bounded), and returns the
// acknowledged proposals (all of them, or the test fails).
func (g *testGroup) proposeAll(prefix string, count int) []string {
	g.t.Helper()
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	errc := make(chan error, count)
	const workers = 16
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < count; i += workers {
				data := fmt.Sprintf("%s-%04d", prefix, i)
				var err error
				for attempt := 0; attempt < 50; attempt++ {
					var leader *Node
					for _, m := range g.running() {
						if n := m.n.Load(); n != nil && n.IsLeader() {
							leader = n
						}
					}
					if leader == nil {
						err = errors.New("no leader")
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if err = leader.Propose(kindTest, []byte(data)).Wait(); err == nil {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if err != nil {
					errc <- fmt.Errorf("%s: %w", data, err)
					return
				}
				mu.Lock()
				acked = append(acked, data)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		g.t.Fatal(err)
	}
	return acked
}

// waitConverged polls (at most 30s) until every running member applied
// the same entries as the leader's commit index, then checks their logs
// are identical record for record and returns the applied entries.
func (g *testGroup) waitConverged() []logstore.Entry {
	g.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ms := g.running()
		lead := g.waitLeader()
		commit := lead.n.Load().Status().Commit
		done := true
		for _, m := range ms {
			if a := m.appliedCopy(); len(a) == 0 || a[len(a)-1].Index < commit {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			for _, m := range ms {
				g.t.Logf("node %d: %+v", m.id, m.n.Load().Status())
			}
			g.t.Fatal("members did not converge within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ms := g.running()
	ref := ms[0].appliedCopy()
	for _, m := range ms[1:] {
		a := m.appliedCopy()
		n := min(len(a), len(ref))
		if !slices.EqualFunc(a[:n], ref[:n], entryEqual) {
			g.t.Fatalf("node %d applied differs from node %d", m.id, ms[0].id)
		}
	}
	// The logs themselves: every index two logs both hold is equal.
	refLog := readLog(g.t, ms[0].st)
	for _, m := range ms[1:] {
		if err := logsAgree(refLog, readLog(g.t, m.st)); err != nil {
			g.t.Fatalf("node %d log vs node %d's: %v", m.id, ms[0].id, err)
		}
	}
	return ref
}

// logsAgree compares two logs (possibly compacted to different first
// indexes) at every index both hold.
func logsAgree(a, b []logstore.Entry) error {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	lo, hi := max(a[0].Index, b[0].Index), min(a[len(a)-1].Index, b[len(b)-1].Index)
	for i := lo; i <= hi && lo <= hi; i++ {
		x, y := a[i-a[0].Index], b[i-b[0].Index]
		if !entryEqual(x, y) {
			return fmt.Errorf("entry %d differs: %d/%d/%q vs %d/%d/%q", i, x.Term, x.Kind, x.Data, y.Term, y.Kind, y.Data)
		}
	}
	return nil
}

func entryEqual(a, b logstore.Entry) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Kind == b.Kind && string(a.Data) == string(b.Data)
}

func readLog(t testing.TB, st *Storage) []logstore.Entry {
	t.Helper()
	l := st.Log()
	ents, err := l.Entries(l.FirstIndex(), l.LastIndex()+1, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]logstore.Entry, len(ents))
	for i, e := range ents {
		out[i] = logstore.Entry{Index: e.Index, Term: e.Term, Kind: e.Kind, Data: slices.Clone(e.Data)}
	}
	return out
}

// checkAcked fails unless every acknowledged proposal was applied exactly
// once.
func checkAcked(t testing.TB, applied []logstore.Entry, acked []string) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range applied {
		if e.Kind == kindTest {
			seen[string(e.Data)]++
		}
	}
	for _, a := range acked {
		if seen[a] != 1 {
			t.Fatalf("acknowledged %q applied %d times", a, seen[a])
		}
	}
}

func TestGroupReplicates(t *testing.T) {
	g := newTestGroup(t, 1, 2, 3)
	g.waitLeader()
	acked := g.proposeAll("a", 1000)
	applied := g.waitConverged()
	checkAcked(t, applied, acked)
	st := g.waitLeader().n.Load().Status()
	if len(st.Progress) != 3 || st.Applied < 1000 {
		t.Fatalf("leader status: %+v", st)
	}
	for id, pr := range st.Progress {
		if pr.Match < 1000 {
			t.Errorf("follower %d match %d", id, pr.Match)
		}
	}
	follower := g.running()[0]
	if follower.n.Load().IsLeader() {
		follower = g.running()[1]
	}
	err := follower.n.Load().Propose(kindTest, []byte("x")).Wait()
	var nl *NotLeaderError
	if !errors.As(err, &nl) || nl.Leader == 0 {
		t.Fatalf("proposal on a follower: %v", err)
	}
	if err := follower.n.Load().Propose(logstore.KindNoop, nil).Wait(); !errors.Is(err, ErrReservedKind) {
		t.Fatalf("reserved kind: %v", err)
	}
}

func TestGroupLeaderFailover(t *testing.T) {
	g := newTestGroup(t, 1, 2, 3)
	acked := g.proposeAll("a", 300)
	old := g.waitLeader()
	g.stop(old.id)
	acked = append(acked, g.proposeAll("b", 300)...)
	if g.waitLeader().id == old.id {
		t.Fatal("stopped node still leads")
	}
	checkAcked(t, g.waitConverged(), acked)
	g.start(old.id) // restart: it catches up and replays its log
	acked = append(acked, g.proposeAll("c", 100)...)
	checkAcked(t, g.waitConverged(), acked)
}

func TestGroupQuorumLoss(t *testing.T) {
	g := newTestGroup(t, 1, 2, 3)
	g.timeout = 500 * time.Millisecond
	for _, m := range g.members {
		g.stop(m.id)
		g.start(m.id)
	}
	acked := g.proposeAll("a", 50)
	lead := g.waitLeader()
	var others []uint64
	for _, id := range g.peers() {
		if id != lead.id {
			others = append(others, id)
		}
	}
	g.stop(others[0])
	g.stop(others[1])
	// Proposals on the lone survivor fail (timeout while it still thinks
	// it leads, NotLeader once CheckQuorum made it step down); none may
	// ever succeed.
	var sawStepDown bool
	for i := 0; i < 20; i++ {
		err := lead.n.Load().Propose(kindTest, []byte(fmt.Sprintf("lost-%d", i))).Wait()
		switch {
		case err == nil:
			t.Fatalf("proposal %d succeeded without a quorum", i)
		case errors.Is(err, ErrNotLeader):
			sawStepDown = true
			time.Sleep(25 * time.Millisecond)
		case !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrDropped):
			t.Fatalf("proposal %d: %v", i, err)
		}
	}
	if !sawStepDown {
		t.Log("leader had not stepped down after 20 proposals (slow machine?)")
	}
	g.start(others[0])
	g.timeout = 5 * time.Second
	acked = append(acked, g.proposeAll("b", 50)...)
	g.start(others[1])
	checkAcked(t, g.waitConverged(), acked)
}

// TestGroupFollowerPowerCut: a follower loses every unsynced byte while
// proposals run, restarts from what survived and catches up from peers.
func TestGroupFollowerPowerCut(t *testing.T) {
	g := newTestGroup(t, 1, 2, 3)
	acked := g.proposeAll("a", 200)
	lead := g.waitLeader()
	var victim *testMember
	for _, m := range g.running() {
		if m.id != lead.id {
			victim = m
		}
	}
	var wg sync.WaitGroup
	var more []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		more = g.proposeAll("b", 300)
	}()
	// Cut power once the victim has applied some of the new entries.
	deadline := time.Now().Add(20 * time.Second)
	for len(victim.appliedCopy()) < 250 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	victim.fs.Crash()
	// The node notices on its next write (ErrCrashed) or on Stop; its
	// storage is not closed onto the rebooted disk.
	g.net.Unregister(victim.id)
	victim.n.Load().Stop()
	victim.n.Store(nil)
	victim.st = nil
	wg.Wait()
	acked = append(acked, more...)
	g.start(victim.id)
	acked = append(acked, g.proposeAll("c", 100)...)
	checkAcked(t, g.waitConverged(), acked)
}
