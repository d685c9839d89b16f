package replication

import (
	"context"
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// SnapshotTransport is implemented by transports that can tell whether a
// snapshot message reached the peer's connection. The node reports the
// outcome to raft (ReportSnapshot), which otherwise pauses the follower
// until it answers. done must not block and may be called from any
// goroutine, at most once.
type SnapshotTransport interface {
	Transport
	SendSnapshot(group uint64, m *pb.Message, done func(err error))
}

type snapshotReport struct {
	to     uint64
	failed bool
}

// restoreAtStart hands the storage's snapshot to the state machine when the
// state machine is older than it (a compacted log cannot replay the entries
// in between), and moves o.Applied to the snapshot.
func restoreAtStart(o *Options) error {
	index, _ := o.Storage.SnapshotIndex()
	if index <= o.Applied {
		return nil
	}
	if o.StateMachine == nil {
		return fmt.Errorf("%w: the storage's snapshot at %d is newer than Applied %d", ErrNoStateMachine, index, o.Applied)
	}
	snap, err := o.Storage.Snapshot()
	if err != nil {
		return fmt.Errorf("replication: read snapshot: %w", err)
	}
	if err := o.StateMachine.Restore(snap.GetData(), index); err != nil {
		return fmt.Errorf("replication: restore snapshot %d: %w", index, err)
	}
	o.Applied = index
	return nil
}

// installSnapshot persists a snapshot from the leader and restores the
// state machine from it.
func (n *Node) installSnapshot(snap *pb.Snapshot) error {
	index := snap.GetMetadata().GetIndex()
	if n.opts.StateMachine == nil {
		return fmt.Errorf("%w: leader sent snapshot %d", ErrNoStateMachine, index)
	}
	if err := n.opts.Storage.ApplySnapshot(snap); err != nil {
		return err
	}
	if err := n.opts.StateMachine.Restore(snap.GetData(), index); err != nil {
		return fmt.Errorf("replication: restore snapshot %d: %w", index, err)
	}
	n.opts.Logf("replication: group %d node %d installed snapshot %d (%d bytes)", n.opts.Group, n.opts.ID, index, len(snap.GetData()))
	n.applied = index
	// Proposals made here as a leader at indexes the snapshot covers: their
	// fate is unknown (they may be in it), as with a timeout.
	for idx, p := range n.pending {
		if idx <= index {
			delete(n.pending, idx)
			p.finish(0, fmt.Errorf("%w: covered by a snapshot from the leader", ErrTimeout))
		}
	}
	return nil
}

// maybeSnapshot takes an automatic snapshot once SnapshotEntries entries
// were applied since the last one (or the last failed attempt).
func (n *Node) maybeSnapshot() {
	every := n.opts.SnapshotEntries
	if every == 0 || n.opts.StateMachine == nil {
		return
	}
	snap, _ := n.opts.Storage.SnapshotIndex()
	if n.applied < max(snap, n.snapTry)+every {
		return
	}
	n.snapTry = n.applied
	if _, err := n.snapshotLocal(); err != nil {
		n.opts.Logf("replication: group %d node %d: snapshot at %d: %v", n.opts.Group, n.opts.ID, n.applied, err)
	}
}

// snapshotLocal snapshots the state machine at the applied index and
// compacts the log below it, keeping CatchUpEntries. Runs on the loop.
func (n *Node) snapshotLocal() (uint64, error) {
	if n.opts.StateMachine == nil {
		return 0, ErrNoStateMachine
	}
	index := n.applied
	if snap, _ := n.opts.Storage.SnapshotIndex(); index <= snap {
		return snap, nil
	}
	data, err := n.opts.StateMachine.Snapshot()
	if err != nil {
		return 0, fmt.Errorf("replication: state machine snapshot: %w", err)
	}
	_, cs, _ := n.opts.Storage.InitialState()
	if err := n.opts.Storage.CreateSnapshot(index, cs, data); err != nil {
		return 0, err
	}
	if keep := n.opts.CatchUpEntries; index+1 > keep {
		if _, err := n.opts.Storage.Compact(index + 1 - keep); err != nil {
			return index, fmt.Errorf("replication: compact: %w", err)
		}
	}
	return index, nil
}

// CreateSnapshot snapshots the state machine now (at the applied index)
// and compacts the log below it, keeping CatchUpEntries; it returns the
// snapshot's index. Safe for concurrent use.
func (n *Node) CreateSnapshot(ctx context.Context) (uint64, error) {
	var index uint64
	var err error
	if derr := n.do(ctx, func() { index, err = n.snapshotLocal() }); derr != nil {
		return 0, derr
	}
	return index, err
}

// do runs f on the loop and waits for it.
func (n *Node) do(ctx context.Context, f func()) error {
	ran := make(chan struct{})
	select {
	case n.ctlc <- func() { f(); close(ran) }:
	case <-n.done:
		return n.stoppedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	<-ran // the loop runs it right away
	return nil
}

// send hands messages to the transport; a snapshot's outcome comes back
// through reportc when the transport can tell it, else it is reported
// finished at once (a lost snapshot makes the follower reject the next
// append, and the leader sends the snapshot again).
func (n *Node) send(msgs []*pb.Message) {
	for _, m := range msgs {
		if m.GetType() != pb.MsgSnap {
			n.opts.Transport.Send(n.opts.Group, m)
			continue
		}
		to := m.GetTo()
		st, ok := n.opts.Transport.(SnapshotTransport)
		if !ok {
			n.opts.Transport.Send(n.opts.Group, m)
			n.rn.ReportSnapshot(to, raft.SnapshotFinish)
			continue
		}
		n.opts.Logf("replication: group %d node %d sends snapshot %d to %d", n.opts.Group, n.opts.ID, m.GetSnapshot().GetMetadata().GetIndex(), to)
		st.SendSnapshot(n.opts.Group, m, func(err error) {
			select {
			case n.reportc <- snapshotReport{to: to, failed: err != nil}:
			default: // cannot happen: one snapshot in flight per follower
			}
		})
	}
}

func (n *Node) report(r snapshotReport) {
	status := raft.SnapshotFinish
	if r.failed {
		status = raft.SnapshotFailure
	}
	n.rn.ReportSnapshot(r.to, status)
}

func (n *Node) addConfStatus(s *Status) {
	_, cs, _ := n.opts.Storage.InitialState()
	s.Voters, s.Learners = cs.GetVoters(), cs.GetLearners()
	s.SnapshotIndex, _ = n.opts.Storage.SnapshotIndex()
	s.FirstIndex, _ = n.opts.Storage.FirstIndex()
}
