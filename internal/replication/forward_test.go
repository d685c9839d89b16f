package replication

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

// TestForwardAndTransfer: with ForwardProposals a follower's proposals are
// committed through the leader and complete on the follower; then
// TransferLeader makes that follower the leader.
func TestForwardAndTransfer(t *testing.T) {
	nodes, lead, follower := forwardGroup(t)
	ps := make([]*Proposal, 100)
	for i := range ps {
		ps[i] = nodes[follower].Propose(kindTest, fmt.Appendf(nil, "fwd-%03d", i))
	}
	for i, p := range ps {
		if err := p.Wait(); err != nil {
			t.Fatalf("forwarded proposal %d: %v", i, err)
		}
		if p.Index() == 0 {
			t.Fatalf("forwarded proposal %d has no index", i)
		}
	}
	_ = lead
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := nodes[follower].TransferLeader(ctx, follower); err != nil {
		t.Fatal(err)
	}
}

// TestForwardDuringTransfer: proposals forwarded while the leadership moves
// to the forwarding node (the old leader drops proposals during a transfer)
// all commit: the new leader proposes again those its log lacks.
func TestForwardDuringTransfer(t *testing.T) {
	nodes, _, follower := forwardGroup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	var ps []*Proposal
	go func() { done <- nodes[follower].TransferLeader(ctx, follower) }()
	// At least 300 proposals, and on until the transfer is over (at most
	// 20000): 300 made quickly can all meet the follower as a candidate
	// (refused at once), leaving nothing to check.
	var transferErr error
	over := false
	for i := 0; i < 20000 && !(over && i >= 300); i++ {
		ps = append(ps, nodes[follower].Propose(kindTest, fmt.Appendf(nil, "during-%05d", i)))
		if !over {
			select {
			case transferErr = <-done:
				over = true
			default:
			}
		}
	}
	if !over {
		transferErr = <-done
	}
	if transferErr != nil {
		t.Fatal(transferErr)
	}
	seen := map[uint64]bool{}
	for i, p := range ps {
		err := p.Wait()
		if errors.Is(err, ErrNotLeader) {
			continue // refused at once (a candidate): never proposed
		}
		if err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
		if seen[p.Index()] {
			t.Fatalf("proposal %d shares index %d", i, p.Index())
		}
		seen[p.Index()] = true
	}
	if len(seen) == 0 {
		t.Fatal("no proposal committed")
	}
}

// forwardGroup starts three forwarding members on a MemNetwork and waits
// for a leader that a follower knows.
func forwardGroup(t *testing.T) (nodes map[uint64]*Node, lead, follower uint64) {
	net := NewMemNetwork()
	nodes = map[uint64]*Node{}
	for id := uint64(1); id <= 3; id++ {
		st, err := OpenStorage(StorageOptions{FS: vfs.NewMemFS(), Dir: "/d", Peers: []uint64{1, 2, 3}})
		if err != nil {
			t.Fatal(err)
		}
		n, err := NewNode(Options{ID: id, Group: 9, Storage: st, Transport: net, ForwardProposals: true,
			Apply:        func(logstore.Entry) error { return nil },
			TickInterval: 10 * time.Millisecond, ElectionTicks: 20, HeartbeatTicks: 2, ProposeTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		nodes[id] = n
		net.Register(id, func(_ uint64, m *pb.Message) { n.Receive(m) })
		t.Cleanup(func() { n.Stop(); st.Close() })
	}
	deadline := time.Now().Add(30 * time.Second)
	for lead == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no leader within 30s")
		}
		for id, n := range nodes {
			if n.IsLeader() {
				lead = id
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	follower = lead%3 + 1
	for nodes[follower].Leader() != lead {
		if time.Now().After(deadline) {
			t.Fatal("follower does not know the leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nodes, lead, follower
}
