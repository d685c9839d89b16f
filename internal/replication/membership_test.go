package replication

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/vfs"
)

// onLeader runs f on the current leader, again after a leader change or a
// pending membership change (bounded), and fails the test otherwise.
func (g *testGroup) onLeader(what string, f func(n *Node) error) {
	g.t.Helper()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = f(g.waitLeader().n.Load()); err == nil {
			return
		}
		if !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrConfChangePending) && !errors.Is(err, ErrDropped) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("%s: %v", what, err)
}

// addJoiner creates member id with an empty disk and a Join storage and
// starts it (it waits for the leader to add it).
func (g *testGroup) addJoiner(id uint64) *testMember {
	g.t.Helper()
	m := &testMember{id: id, fs: vfs.NewMemFS(), join: true}
	g.members[id] = m
	if g.tcp {
		g.addrs[id] = "127.0.0.1:0"
		g.startTransport(id)
	}
	g.start(id)
	return m
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestMembershipAddRemove: a 4th member joins a compacted group (learner
// first, caught up through a snapshot, then voter); a follower is removed;
// then the leader removes itself; commits go on after each step.
func TestMembershipAddRemove(t *testing.T) {
	g := startGroup(&testGroup{t: t, snapEvery: 100, catchUp: 10, segBytes: 2 << 10}, 1, 2, 3)
	ctx := testCtx(t)
	acked := g.proposeAll("a", 500)
	m4 := g.addJoiner(4)
	g.onLeader("add 4", func(n *Node) error { return n.AddMember(ctx, 4) })
	if m4.restores.Load() == 0 {
		t.Fatal("member 4 caught up without a snapshot")
	}
	if st := g.waitLeader().n.Load().Status(); fmt.Sprint(st.Voters) != "[1 2 3 4]" || len(st.Learners) != 0 {
		t.Fatalf("after adding 4: voters %v learners %v", st.Voters, st.Learners)
	}
	acked = append(acked, g.proposeAll("b", 200)...)
	checkAcked(t, g.waitConverged(), acked)

	lead := g.waitLeader()
	var f uint64
	for _, id := range g.peers() {
		if id != lead.id {
			f = id
			break
		}
	}
	g.onLeader(fmt.Sprintf("remove %d", f), func(n *Node) error { return n.RemoveMember(ctx, f) })
	g.stop(f)
	acked = append(acked, g.proposeAll("c", 200)...)
	checkAcked(t, g.waitConverged(), acked)

	// The leader removes itself: it steps down, the other two go on.
	lead = g.waitLeader()
	if err := lead.n.Load().RemoveMember(ctx, lead.id); err != nil {
		t.Fatalf("leader %d removes itself: %v", lead.id, err)
	}
	g.stop(lead.id)
	acked = append(acked, g.proposeAll("d", 100)...)
	checkAcked(t, g.waitConverged(), acked)
	st := g.waitLeader().n.Load().Status()
	if len(st.Voters) != 2 || slices.Contains(st.Voters, lead.id) || slices.Contains(st.Voters, f) {
		t.Fatalf("final voters %v (removed %d and %d)", st.Voters, f, lead.id)
	}
}

// TestTransferLeader: leadership moves to a chosen follower, commits go
// on, and a follower's request moves it back.
func TestTransferLeader(t *testing.T) {
	g := newTestGroup(t, 1, 2, 3)
	ctx := testCtx(t)
	acked := g.proposeAll("a", 100)
	home := g.waitLeader()
	var to *testMember
	for _, m := range g.running() {
		if m.id != home.id {
			to = m
		}
	}
	if err := home.n.Load().TransferLeader(ctx, to.id); err != nil {
		t.Fatal(err)
	}
	if l := g.waitLeader(); l.id != to.id {
		t.Fatalf("leader %d after transfer to %d", l.id, to.id)
	}
	acked = append(acked, g.proposeAll("b", 100)...)
	// Asked on the old leader, now a follower: raft forwards the request.
	if err := home.n.Load().TransferLeader(ctx, home.id); err != nil {
		t.Fatal(err)
	}
	acked = append(acked, g.proposeAll("c", 100)...)
	checkAcked(t, g.waitConverged(), acked)
}
