package replgroup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/replication"
	"github.com/dropin/nsq/internal/vfs"
)

// Options configure a Member.
type Options struct {
	FS        vfs.FS   // default: the OS file system
	Dir       string   // required: the group's directory on this node
	ID, Group uint64   // this node's member id in the group and the group's id
	Peers     []uint64 // the group's members (used when the group is new)
	// Join starts a group directory without a state file with no
	// configuration instead of Peers: a member the group's leader adds
	// (replication.StorageOptions.Join; a node whose disk was replaced,
	// or a node new to the group).
	Join           bool
	Transport      replication.Transport
	ProposeTimeout time.Duration // default 5s: the bounded wait of a publish
	TickInterval   time.Duration // default 50ms; election after 20 ticks
	OnHealth       func(err error)
	Logf           func(format string, args ...any)

	// Snapshots and compaction (doc.go): after SnapshotEntries applied
	// entries (0: only on CreateSnapshot) the member snapshots the
	// engine's state and compacts the log, keeping CatchUpEntries
	// (default replication's, 1000) and every entry an unfinished message
	// needs; MaxSnapshotBytes bounds a snapshot with those entries
	// (default and most: the transport frame less 1 MiB). SegmentBytes is
	// the log's segment size (default logstore's); compaction removes
	// whole segments.
	SnapshotEntries, CatchUpEntries uint64
	MaxSnapshotBytes, SegmentBytes  int64
}

// Member is one node's member of one replicated broker log. Safe for
// concurrent use.
type Member struct {
	opts Options
	st   *replication.Storage
	node *replication.Node
	eng  *brokerlog.Engine

	stopped  chan struct{} // closed by Close
	stopOnce sync.Once

	mu        sync.Mutex // guards applied, appliedCh
	applied   uint64
	appliedCh chan struct{}
}

var _ brokerlog.Commits = (*Member)(nil)

// Open opens (or creates) the member's storage and engine and starts its
// raft node.
func Open(o Options) (*Member, error) {
	if o.Dir == "" || o.ID == 0 || o.Group == 0 || o.Transport == nil {
		return nil, errors.New("replgroup: Options.Dir, ID, Group and Transport are required")
	}
	if o.FS == nil {
		o.FS = vfs.OS()
	}
	if o.ProposeTimeout <= 0 {
		o.ProposeTimeout = 5 * time.Second
	}
	if o.TickInterval <= 0 {
		o.TickInterval = 50 * time.Millisecond
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	st, err := replication.OpenStorage(replication.StorageOptions{FS: o.FS, Dir: o.Dir, Peers: o.Peers, Join: o.Join, SegmentBytes: o.SegmentBytes, Logf: o.Logf})
	if err != nil {
		return nil, fmt.Errorf("replgroup: group %d: %w", o.Group, err)
	}
	m := &Member{opts: o, st: st, appliedCh: make(chan struct{}), stopped: make(chan struct{})}
	if _, err := brokerlog.OpenExternal(brokerlog.Options{FS: o.FS, Dir: o.Dir, OnHealth: o.OnHealth, Logf: o.Logf}, st.Log(), m.start); err != nil {
		st.Close()
		return nil, fmt.Errorf("replgroup: group %d: %w", o.Group, err)
	}
	return m, nil
}

// start is the Engine's StartFunc: the raft node applies committed entries
// into the engine's state, and snapshots it (snapshot.go).
func (m *Member) start(eng *brokerlog.Engine, applied uint64, apply func([]logstore.Entry)) (brokerlog.Commits, error) {
	m.applied = applied
	m.eng = eng
	// The checkpoint may predate the last compaction (it is written
	// beside the raft loop): drop its marks into removed segments.
	eng.LogTrimmed(m.st.Log().FirstIndex())
	n, err := replication.NewNode(replication.Options{
		ID: m.opts.ID, Group: m.opts.Group, Storage: m.st, Transport: m.opts.Transport,
		Applied: applied,
		Apply: func(e logstore.Entry) error {
			if e.Kind != logstore.KindNoop && e.Kind < replication.KindConfChange {
				apply([]logstore.Entry{e})
			}
			m.setApplied(e.Index)
			return nil
		},
		TickInterval: m.opts.TickInterval, ElectionTicks: 20, HeartbeatTicks: 2,
		ProposeTimeout:   m.opts.ProposeTimeout,
		ForwardProposals: true,
		Logf:             m.opts.Logf,
		StateMachine:     stateMachine{m},
		SnapshotEntries:  m.opts.SnapshotEntries,
		CatchUpEntries:   m.opts.CatchUpEntries,
		MaxSnapshotBytes: m.opts.MaxSnapshotBytes,
	})
	if err != nil {
		return nil, err
	}
	m.node = n
	return m, nil
}

func (m *Member) setApplied(i uint64) {
	m.mu.Lock()
	if i > m.applied {
		m.applied = i
		close(m.appliedCh)
		m.appliedCh = make(chan struct{})
	}
	m.mu.Unlock()
}

// Engine is the group's broker state and log.
func (m *Member) Engine() *brokerlog.Engine { return m.eng }

// Node is the group's raft member.
func (m *Member) Node() *replication.Node { return m.node }

// Group returns the group's id.
func (m *Member) Group() uint64 { return m.opts.Group }

// ID returns this node's member id in the group.
func (m *Member) ID() uint64 { return m.opts.ID }

// Config returns the term and configuration stored here (the applied
// configuration), without going through the raft loop: safe to call from
// a transport handler.
func (m *Member) Config() (term uint64, voters, learners []uint64) {
	hs, cs, _ := m.st.InitialState()
	return hs.GetTerm(), cs.GetVoters(), cs.GetLearners()
}

// IsLeader tells whether this node leads the group.
func (m *Member) IsLeader() bool { return m.node.IsLeader() }

// Propose implements brokerlog.Commits.
func (m *Member) Propose(kind logstore.Kind, data []byte) *logstore.Proposal {
	return m.ProposeBatch([]logstore.Record{{Kind: kind, Data: data}})
}

// ProposeBatch implements brokerlog.Commits: one raft entry per record;
// done when every one is applied here, failed with the first failure.
func (m *Member) ProposeBatch(recs []logstore.Record) *logstore.Proposal {
	p := logstore.NewProposal()
	if len(recs) == 0 {
		p.Complete(0, 0, nil)
		return p
	}
	deadline := time.Now().Add(m.opts.ProposeTimeout)
	m.awaitLeader(deadline)
	rps := make([]*replication.Proposal, len(recs))
	for i, r := range recs {
		rps[i] = m.node.Propose(r.Kind, r.Data)
	}
	go func() {
		var first, last uint64
		var err error
		for i, rp := range rps {
			e := rp.Wait()
			// NotLeader means the entry was not handed to raft at all
			// (an election, a candidate): proposing again cannot make a
			// duplicate.
			for errors.Is(e, replication.ErrNotLeader) && time.Now().Before(deadline) {
				if !m.pause(20 * time.Millisecond) {
					break
				}
				m.awaitLeader(deadline)
				rp = m.node.Propose(recs[i].Kind, recs[i].Data)
				e = rp.Wait()
			}
			if e != nil {
				if err == nil {
					err = fmt.Errorf("replicated commit (group %d): %w", m.opts.Group, e)
				}
				continue
			}
			if i == 0 {
				first = rp.Index()
			}
			last = max(last, rp.Index())
		}
		p.Complete(first, last, err)
	}()
	return p
}

// awaitLeader waits, until deadline, while the group has no leader (an
// election): a publish then waits for it instead of failing at once. The
// caller blocks, which is the back-pressure a publisher needs.
func (m *Member) awaitLeader(deadline time.Time) {
	for m.node.Leader() == 0 && time.Now().Before(deadline) && m.node.Err() == nil {
		if !m.pause(10 * time.Millisecond) {
			return
		}
	}
}

// pause sleeps d; false if the member is closing.
func (m *Member) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.stopped:
		return false
	}
}

// Status implements brokerlog.Commits.
func (m *Member) Status() logstore.Status {
	s := m.node.Status()
	a, _ := m.Applied()
	return logstore.Status{Written: s.LastIndex, Synced: s.LastIndex, Committed: s.Commit, Applied: a, Err: s.Err}
}

// Applied implements brokerlog.Commits.
func (m *Member) Applied() (uint64, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied, m.appliedCh
}

// WaitApplied implements brokerlog.Commits.
func (m *Member) WaitApplied(ctx context.Context, i uint64) error {
	return logstore.WaitApplied(ctx, m.Applied, i)
}

// Close implements brokerlog.Commits: it is the Engine's Close that calls
// it; owners call Member.Shutdown.
func (m *Member) Close() error {
	m.stopOnce.Do(func() { close(m.stopped) })
	m.node.Stop()
	return nil
}

// Shutdown closes the engine (committing pending channel state if a leader
// is known), stops the node and closes the storage.
func (m *Member) Shutdown() error {
	if m.node.Leader() == 0 {
		m.stopOnce.Do(func() { close(m.stopped) })
		m.node.Stop() // nothing could commit; do not wait for it
	}
	err := m.eng.Close()
	if cerr := m.st.Close(); err == nil {
		err = cerr
	}
	return err
}
