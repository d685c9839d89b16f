package replgroup

import (
	"context"
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/replication"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/vfs"
)

// TestMembersReplicateEngine: three members of one group on an in-process
// network; publishes through a follower's engine (forwarded) and the
// leader's are applied to every member's state, readable on each, and
// survive a restart of a member from its files.
func TestMembersReplicateEngine(t *testing.T) {
	net := replication.NewMemNetwork()
	fss := map[uint64]*vfs.MemFS{}
	members := map[uint64]*Member{}
	open := func(id uint64) {
		t.Helper()
		m, err := Open(Options{FS: fss[id], Dir: "/g", ID: id, Group: 1, Peers: []uint64{1, 2, 3}, Transport: net,
			TickInterval: 10 * time.Millisecond, ProposeTimeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		members[id] = m
		net.Register(id, func(_ uint64, msg *pb.Message) { m.Node().Receive(msg) })
	}
	for id := uint64(1); id <= 3; id++ {
		fss[id] = vfs.NewMemFS()
		open(id)
	}
	t.Cleanup(func() {
		for _, m := range members {
			m.Shutdown()
		}
	})
	var leader, follower uint64
	testutil.Eventually(t, 30*time.Second, func() bool {
		for id, m := range members {
			if m.IsLeader() {
				leader = id
			}
		}
		follower = leader%3 + 1
		return leader != 0 && members[follower].Node().Leader() == leader
	}, "no leader")
	for _, id := range []uint64{follower, leader} {
		e := members[id].Engine()
		if err := e.CreateChannel("t", "c", brokerlog.Start{Mode: brokerlog.StartLatest}).Wait(); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 20; k++ {
			msg := brokerlog.Message{ID: [16]byte{byte(id), byte(k)}, Timestamp: 1, Body: fmt.Appendf(nil, "%d-%d", id, k)}
			if err := e.Publish("t", []brokerlog.Message{msg}).Wait(); err != nil {
				t.Fatalf("publish through node %d: %v", id, err)
			}
		}
	}
	count := func(m *Member) int {
		r, err := m.Engine().NewReader("t", "c", brokerlog.ReaderOptions{})
		if err != nil {
			return -1
		}
		ds, _ := r.Next(100)
		return len(ds)
	}
	for id, m := range members {
		testutil.Eventually(t, 30*time.Second, func() bool { return count(m) == 40 }, "node %d does not hold the 40 messages", id)
	}
	// restart the follower from its files: the state comes back
	m := members[follower]
	net.Unregister(follower)
	if err := m.Shutdown(); err != nil {
		t.Fatal(err)
	}
	open(follower)
	testutil.Eventually(t, 30*time.Second, func() bool { return count(members[follower]) == 40 }, "restarted member lost messages")
	if err := members[follower].WaitApplied(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
}
