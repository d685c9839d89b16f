package replication

import (
	"context"
	"fmt"
	"slices"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// MemberID is the raft member id of incarnation gen of node: node itself
// for gen 0, so member ids and node ids coincide until a disk is replaced;
// a node that lost its disk rejoins as gen+1 (doc.go, "Lost disk"). node
// must be below 2^32.
func MemberID(node uint64, gen uint32) uint64 { return node | uint64(gen)<<32 }

// NodeOf returns the node whose incarnation member is (MemberID's inverse).
// Transports route a member id they do not know to its node's address.
func NodeOf(member uint64) uint64 { return member & 0xffffffff }

// proposeConf proposes one membership change on the leader and waits until
// it is applied here.
func (n *Node) proposeConf(ctx context.Context, typ pb.ConfChangeType, id uint64) error {
	if id == 0 {
		return fmt.Errorf("replication: member id 0")
	}
	if !n.leading.Load() {
		return &NotLeaderError{Leader: n.lead.Load()}
	}
	cc := &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: typ.Enum(), NodeId: new(id)}}}
	p := &Proposal{cc: cc, done: make(chan struct{}), deadline: time.Now().Add(n.opts.ProposeTimeout)}
	if dl, ok := ctx.Deadline(); ok && dl.After(p.deadline) {
		p.deadline = dl
	}
	select {
	case n.propc <- p:
	case <-n.done:
		return n.stoppedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("replication: membership change of %d: %w (it may still apply)", id, ctx.Err())
	}
}

// members returns the applied configuration.
func (n *Node) members() (voters, learners []uint64) {
	_, cs, _ := n.opts.Storage.InitialState()
	return cs.GetVoters(), cs.GetLearners()
}

// AddLearner adds id as a learner (it receives the log but does not vote)
// and waits until the change is applied here. Leader only; a no-op if id
// is already a member. The caller makes id reachable through the
// transport first (TCPTransport.AddPeer). Needs Options.StateMachine: the
// new member starts from a snapshot, which every node takes right after
// applying a membership change, so that it lists the new member.
func (n *Node) AddLearner(ctx context.Context, id uint64) error {
	if n.opts.StateMachine == nil {
		// A new member starts from a snapshot: the log does not hold the
		// group's first configuration.
		return fmt.Errorf("%w: adding member %d", ErrNoStateMachine, id)
	}
	voters, learners := n.members()
	if slices.Contains(voters, id) || slices.Contains(learners, id) {
		return nil
	}
	return n.proposeConf(ctx, pb.ConfChangeAddLearnerNode, id)
}

// PromoteMember makes learner (or new member) id a voter, without waiting
// for it to catch up: use AddMember for that. Leader only.
func (n *Node) PromoteMember(ctx context.Context, id uint64) error {
	if voters, _ := n.members(); slices.Contains(voters, id) {
		return nil
	}
	return n.proposeConf(ctx, pb.ConfChangeAddNode, id)
}

// AddMember adds id as a voter the safe way: as a learner first, then,
// once its log has reached the commit index the leader had when it was
// added (through the log or a snapshot), as a voter. It returns when the
// promotion is applied here, or with ctx's error (the member may then be
// left a learner; calling AddMember again resumes). Leader only; safe for
// concurrent use but one membership change runs at a time
// (ErrConfChangePending).
func (n *Node) AddMember(ctx context.Context, id uint64) error {
	if err := n.AddLearner(ctx, id); err != nil {
		return err
	}
	if voters, _ := n.members(); slices.Contains(voters, id) {
		return nil
	}
	target := n.Status().Commit
	if err := n.waitCaughtUp(ctx, id, target); err != nil {
		return err
	}
	return n.PromoteMember(ctx, id)
}

// waitCaughtUp polls the leader's progress of id until its match index
// reaches target.
func (n *Node) waitCaughtUp(ctx context.Context, id, target uint64) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		st := n.Status()
		if st.Err != nil {
			return st.Err
		}
		if st.State != "StateLeader" {
			return &NotLeaderError{Leader: st.Lead}
		}
		if pr, ok := st.Progress[id]; ok && pr.Match >= target {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replication: member %d did not catch up to %d: %w", id, target, ctx.Err())
		case <-t.C:
		}
	}
}

// RemoveMember removes id (voter or learner) from the group and waits
// until the change is applied here. Leader only; a no-op if id is not a
// member. Removing the leader itself makes it step down once applied;
// prefer TransferLeader first, so the group is not without a leader for an
// election timeout.
func (n *Node) RemoveMember(ctx context.Context, id uint64) error {
	voters, learners := n.members()
	if !slices.Contains(voters, id) && !slices.Contains(learners, id) {
		return nil
	}
	return n.proposeConf(ctx, pb.ConfChangeRemoveNode, id)
}

// TransferLeader asks the group to move its leadership to voter to and
// waits until this node sees to lead (raft first brings to's log up to
// date, then lets it campaign at once). It can be called on any member;
// a follower forwards the request to the leader it knows. The request is
// repeated every election timeout (raft abandons a transfer after one)
// until ctx ends.
func (n *Node) TransferLeader(ctx context.Context, to uint64) error {
	retry := time.NewTicker(time.Duration(n.opts.ElectionTicks) * n.opts.TickInterval)
	defer retry.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	ask := func() error { return n.do(ctx, func() { n.rn.TransferLeader(to) }) }
	if err := ask(); err != nil {
		return err
	}
	for {
		if n.lead.Load() == to && (to != n.opts.ID || n.leading.Load()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replication: leadership did not move to %d: %w", to, ctx.Err())
		case <-n.done:
			return n.stoppedErr()
		case <-retry.C:
			if err := ask(); err != nil {
				return err
			}
		case <-poll.C:
		}
	}
}
