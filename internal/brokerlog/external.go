package brokerlog

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/dropin/nsq/internal/logstore"
)

// Commits is what the Engine needs of a committer: logstore.Committer on
// one node, a raft group member (nsqd's replication) otherwise. Every
// implementation must be safe for concurrent use.
type Commits interface {
	Propose(kind logstore.Kind, data []byte) *logstore.Proposal
	ProposeBatch(recs []logstore.Record) *logstore.Proposal
	Status() logstore.Status
	Applied() (uint64, <-chan struct{})
	WaitApplied(ctx context.Context, i uint64) error
	Close() error
}

var _ Commits = (*logstore.Committer)(nil)

// StartFunc starts an external committer over the engine's state: apply
// must receive every committed entry after applied, in order, one caller at
// a time. e is the engine being opened, for its snapshot methods
// (snapshot.go); it has no committer yet.
type StartFunc func(e *Engine, applied uint64, apply func(ents []logstore.Entry)) (Commits, error)

// OpenExternal opens an engine whose log l and committer belong to someone
// else (a raft group member: the log is raft's, entries reach apply only
// once committed). It loads o.Dir's checkpoint, then start gets the applied
// index and the state's Apply. Close closes the committer, not the log.
// Compact must not be called on such an engine: the log's owner decides
// what may be removed, and tells the engine (snapshot.go).
func OpenExternal(o Options, l *logstore.Log, start StartFunc) (*Engine, error) {
	if o.Dir == "" || l == nil || start == nil {
		return nil, errors.New("brokerlog: Options.Dir, the log and start are required")
	}
	o = o.withDefaults()
	if err := o.FS.MkdirAll(o.Dir); err != nil {
		return nil, fmt.Errorf("brokerlog: create %s: %w", o.Dir, err)
	}
	st, cpTerm, err := loadCheckpoint(o.FS, path.Join(o.Dir, checkpointName))
	if err != nil {
		return nil, err
	}
	if last := l.LastIndex(); st.applied > last {
		return nil, fmt.Errorf("brokerlog: the checkpoint includes entries up to %d but the log ends at %d: synced entries were lost", st.applied, last)
	}
	e := &Engine{opts: o, log: l, state: st, external: true, stop: make(chan struct{}), cpIndex: st.applied, cpTerm: cpTerm}
	e.pend.init()
	c, err := start(e, st.applied, st.Apply)
	if err != nil {
		return nil, err
	}
	e.committer = c
	e.wg.Add(1)
	go e.flushLoop()
	return e, nil
}
