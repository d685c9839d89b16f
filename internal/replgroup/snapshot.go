package replgroup

import (
	"context"

	"github.com/dropin/nsq/internal/replication"
)

// stateMachine is the member's replication.StateMachine (and LogRetainer):
// the snapshot of a group at applied index A is the engine's checkpoint
// body as of A, and replication carries beside it the log entries from
// the engine's RetainFrom to A, which hold the bodies of every message
// not finished on some channel at A (doc.go). Its methods run on the raft
// loop.
type stateMachine struct{ m *Member }

var _ replication.LogRetainer = stateMachine{}

// Snapshot implements replication.StateMachine.
func (sm stateMachine) Snapshot() ([]byte, error) { return sm.m.eng.SnapshotState(), nil }

// Restore implements replication.StateMachine: the engine's state becomes
// the snapshot's, as of index.
func (sm stateMachine) Restore(data []byte, index uint64) error {
	if err := sm.m.eng.RestoreState(data); err != nil {
		return err
	}
	sm.m.setApplied(index)
	return nil
}

// RetainFrom implements replication.LogRetainer.
func (sm stateMachine) RetainFrom() uint64 { return sm.m.eng.RetainFrom() }

// LogTrimmed implements replication.LogRetainer.
func (sm stateMachine) LogTrimmed(first uint64) { sm.m.eng.LogTrimmed(first) }

// CreateSnapshot snapshots the group now (at the applied index) and
// compacts its log as far as CatchUpEntries and the unfinished messages
// allow; it returns the snapshot's index. replication.ErrSnapshotDeferred
// means the snapshot would be larger than MaxSnapshotBytes. Safe for
// concurrent use.
func (m *Member) CreateSnapshot(ctx context.Context) (uint64, error) {
	return m.node.CreateSnapshot(ctx)
}
