package replication

import (
	"context"
	"errors"
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
	at, state, err := o.Storage.snapshotState()
	if err != nil || at != index {
		return fmt.Errorf("replication: read snapshot %d (file at %d): %w", index, at, err)
	}
	if err := o.StateMachine.Restore(state, index); err != nil {
		return fmt.Errorf("replication: restore snapshot %d: %w", index, err)
	}
	if lr, ok := o.StateMachine.(LogRetainer); ok {
		lr.LogTrimmed(o.Storage.log.FirstIndex())
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
	p, err := decodePayload(snap.GetData(), index)
	if err != nil {
		return err // ApplySnapshot decoded it already
	}
	if err := n.opts.StateMachine.Restore(p.state, index); err != nil {
		return fmt.Errorf("replication: restore snapshot %d: %w", index, err)
	}
	if lr, ok := n.opts.StateMachine.(LogRetainer); ok {
		lr.LogTrimmed(n.opts.Storage.log.FirstIndex())
	}
	n.installed.Add(1)
	n.opts.Logf("replication: group %d node %d installed snapshot %d (%d bytes, %d retained entries)", n.opts.Group, n.opts.ID, index, len(snap.GetData()), len(p.entries))
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
	if _, err := n.snapshotLocal(); err != nil && !errors.Is(err, ErrSnapshotDeferred) {
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
	st := n.opts.Storage
	retain := index + 1
	lr, retains := n.opts.StateMachine.(LogRetainer)
	if retains {
		retain = min(max(lr.RetainFrom(), st.log.FirstIndex()), index+1)
	}
	data, err := n.opts.StateMachine.Snapshot()
	if err != nil {
		return 0, fmt.Errorf("replication: state machine snapshot: %w", err)
	}
	if size := int64(len(data)) + retainedBytes(st.log, retain, index); retain <= index && size > n.opts.MaxSnapshotBytes {
		n.deferred.Add(1)
		return 0, fmt.Errorf("%w: about %d bytes with the entries from %d (limit %d)", ErrSnapshotDeferred, size, retain, n.opts.MaxSnapshotBytes)
	}
	_, cs, _ := st.InitialState()
	if err := st.CreateSnapshot(index, cs, data, retain); err != nil {
		return 0, err
	}
	n.taken.Add(1)
	upTo := retain
	if keep := n.opts.CatchUpEntries; index+1 > keep {
		upTo = min(upTo, index+1-keep)
	} else {
		upTo = 0
	}
	if upTo > st.log.FirstIndex() {
		removed, err := st.Compact(upTo)
		if err != nil {
			return index, fmt.Errorf("replication: compact: %w", err)
		}
		if removed > 0 {
			n.compacted.Add(uint64(removed))
			if retains {
				lr.LogTrimmed(st.log.FirstIndex())
			}
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
	s.SnapshotRetains = n.opts.Storage.SnapshotRetains()
	s.FirstIndex, _ = n.opts.Storage.FirstIndex()
	s.SnapshotsTaken, s.SnapshotsDeferred = n.taken.Load(), n.deferred.Load()
	s.SnapshotsInstalled, s.SegmentsCompacted = n.installed.Load(), n.compacted.Load()
}
