package replication

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/dropin/nsq/internal/logstore"
)

// Errors of a Node. Check them with errors.Is.
var (
	// ErrNotLeader: this node does not lead the group (NotLeaderError
	// says who does, if known). The proposal was not made.
	ErrNotLeader = errors.New("replication: not the group's leader")
	// ErrTimeout: the proposal was not committed and applied within
	// ProposeTimeout (no quorum, or a leader change). It may still commit
	// later: the caller must treat it as "unknown", never as "lost".
	ErrTimeout = errors.New("replication: proposal not committed in time")
	// ErrDropped: the proposal's log position was taken by another entry
	// after a leader change; it will never commit.
	ErrDropped = errors.New("replication: proposal dropped by a leader change")
	// ErrStopped: the node stopped (Stop, or a storage or apply failure).
	ErrStopped = errors.New("replication: node stopped")
	// ErrReservedKind: the proposal used KindNoop or a reserved kind.
	ErrReservedKind = errors.New("replication: reserved entry kind")
	// ErrConfChangePending: a membership change was refused because
	// another one is not applied yet; retry.
	ErrConfChangePending = errors.New("replication: another membership change is in progress")
	// ErrSnapshotDeferred: a snapshot with the entries its state machine
	// retains would exceed Options.MaxSnapshotBytes; none was taken and the
	// log was not compacted.
	ErrSnapshotDeferred = errors.New("replication: snapshot deferred: too large with its retained entries")
	// ErrNoStateMachine: a snapshot was needed (taken, installed from the
	// leader, or restored at start) but Options.StateMachine is nil.
	ErrNoStateMachine = errors.New("replication: snapshot needs Options.StateMachine")
)

// NotLeaderError is ErrNotLeader with the leader's id (0: unknown).
type NotLeaderError struct{ Leader uint64 }

func (e *NotLeaderError) Error() string {
	return fmt.Sprintf("replication: not the group's leader (leader %d)", e.Leader)
}
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// Options configure a Node.
type Options struct {
	ID        uint64    // required: this node's id in the group, > 0
	Group     uint64    // the group's id, carried by the transport
	Storage   *Storage  // required; the caller opens and closes it
	Transport Transport // required
	// Apply receives every committed entry in log order, from the node's
	// loop (it must not call back into the Node). An error stops the node.
	Apply func(e logstore.Entry) error
	// Applied is the last index the state machine already holds; entries
	// after it are handed to Apply again after a restart.
	Applied uint64
	// TickInterval is raft's tick (default 20ms); elections time out after
	// ElectionTicks (default 10) ticks, heartbeats every HeartbeatTicks (1).
	TickInterval                  time.Duration
	ElectionTicks, HeartbeatTicks int
	// ProposeTimeout bounds how long a proposal waits for commit and apply
	// (default 5s).
	ProposeTimeout time.Duration
	// MaxSizePerMsg and MaxInflightMsgs are raft's flow control (defaults
	// 1 MiB, 256).
	MaxSizePerMsg   uint64
	MaxInflightMsgs int
	Logf            func(format string, args ...any)
	// ForwardProposals lets a follower that knows the leader forward
	// proposals to it instead of failing them with NotLeaderError
	// (forward.go: completed when an equal entry is applied here).
	ForwardProposals bool

	// StateMachine provides snapshots of the applied state and restores
	// them (snapshots and compaction, doc.go). Optional: without it the log
	// is never compacted, and a node that would need a snapshot stops with
	// ErrNoStateMachine.
	StateMachine StateMachine
	// SnapshotEntries: after this many entries applied since the last
	// snapshot, take one and compact the log (0: only on CreateSnapshot).
	SnapshotEntries uint64
	// CatchUpEntries is how many entries below a snapshot the log keeps,
	// so that a follower a little behind catches up from the log instead
	// of a snapshot (default 1000; segments go whole, so more may stay).
	CatchUpEntries uint64
	// MaxSnapshotBytes bounds a snapshot with its retained entries
	// (LogRetainer); a bigger one is not taken (ErrSnapshotDeferred,
	// counted in Status.SnapshotsDeferred) and the log is not compacted
	// until it fits. Default and upper bound: the transport's frame limit
	// less 1 MiB.
	MaxSnapshotBytes int64
}

// StateMachine is the application's state as snapshots see it. Both
// methods run on the node's loop, between Apply calls, and must not call
// back into the Node.
type StateMachine interface {
	// Snapshot returns the state as of the last entry handed to Apply
	// (at most 255 MiB: a snapshot travels as one message).
	Snapshot() ([]byte, error)
	// Restore replaces the state with a snapshot's data, the state as of
	// index; Apply continues with index+1. It is called when the leader
	// sends a snapshot, and by NewNode when the storage's snapshot is
	// newer than Options.Applied. An error stops the node.
	Restore(data []byte, index uint64) error
}

// Node drives one raft group member: one goroutine (the loop) owns the
// RawNode, ticks it, steps received messages, makes proposals, persists
// each Ready with one log sync, sends its messages, applies committed
// entries and advances. Safe for concurrent use.
type Node struct {
	opts Options
	rn   *raft.RawNode // owned by the loop

	inbox   chan *pb.Message
	propc   chan *Proposal
	statusc chan chan Status
	ctlc    chan func()         // closures run on the loop (membership, snapshots)
	reportc chan snapshotReport // a sent snapshot's outcome, from the transport
	stopc   chan struct{}
	done    chan struct{}
	stop    sync.Once

	pending   map[uint64]*Proposal   // by index; owned by the loop
	forwarded map[fwdKey][]*Proposal // forwarded, by data hash; owned by the loop
	reforward bool                   // became leader with forwarded proposals open; owned by the loop
	applied   uint64                 // owned by the loop
	snapTry   uint64                 // owned by the loop: applied index of the last automatic snapshot attempt

	// Snapshot counters, written by the loop, read by Status.
	taken, deferred, installed, compacted atomic.Uint64

	lead    atomic.Uint64
	leading atomic.Bool
	failMu  sync.Mutex // guards failErr
	failErr error
}

// Proposal is the handle of one proposed entry. Done is closed once the
// entry is committed and applied here (Err nil, Index set) or failed.
type Proposal struct {
	kind     logstore.Kind
	data     []byte
	deadline time.Time
	term     uint64
	done     chan struct{}
	err      error
	index    uint64
	fwdData  []byte           // entry data of a forwarded proposal
	cc       *pb.ConfChangeV2 // set for a membership change
}

// Done is closed when the proposal completed.
func (p *Proposal) Done() <-chan struct{} { return p.done }

// Wait waits for the proposal and returns its outcome.
func (p *Proposal) Wait() error { <-p.done; return p.err }

// Index is the entry's log index once Done is closed with a nil error.
func (p *Proposal) Index() uint64 { <-p.done; return p.index }

func (p *Proposal) finish(index uint64, err error) {
	p.index, p.err = index, err
	close(p.done)
}

// NewNode starts a node over its storage.
func NewNode(o Options) (*Node, error) {
	if o.ID == 0 || o.Storage == nil || o.Transport == nil || o.Apply == nil {
		return nil, errors.New("replication: Options.ID, Storage, Transport and Apply are required")
	}
	if o.TickInterval <= 0 {
		o.TickInterval = 20 * time.Millisecond
	}
	if o.ElectionTicks <= 0 {
		o.ElectionTicks = 10
	}
	if o.HeartbeatTicks <= 0 {
		o.HeartbeatTicks = 1
	}
	if o.ProposeTimeout <= 0 {
		o.ProposeTimeout = 5 * time.Second
	}
	if o.MaxSizePerMsg == 0 {
		o.MaxSizePerMsg = 1 << 20
	}
	if o.MaxInflightMsgs <= 0 {
		o.MaxInflightMsgs = 256
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.CatchUpEntries == 0 {
		o.CatchUpEntries = 1000
	}
	if o.MaxSnapshotBytes <= 0 || o.MaxSnapshotBytes > maxSnapshotBytes {
		o.MaxSnapshotBytes = maxSnapshotBytes
	}
	if err := restoreAtStart(&o); err != nil {
		return nil, err
	}
	hs, _, _ := o.Storage.InitialState()
	if o.Applied > hs.GetCommit() {
		// Only committed entries are ever applied, so the state machine
		// proves them committed; the state file's commit may lag.
		if last, _ := o.Storage.LastIndex(); o.Applied > last {
			return nil, fmt.Errorf("replication: applied index %d is past the log's last %d", o.Applied, last)
		}
		o.Storage.mu.Lock()
		o.Storage.st.commit = o.Applied
		o.Storage.mu.Unlock()
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:              o.ID,
		ElectionTick:    o.ElectionTicks,
		HeartbeatTick:   o.HeartbeatTicks,
		Storage:         o.Storage,
		Applied:         o.Applied,
		MaxSizePerMsg:   o.MaxSizePerMsg,
		MaxInflightMsgs: o.MaxInflightMsgs,
		// Bounds the leader's memory when followers lag: proposals past
		// it are dropped and fail fast.
		MaxUncommittedEntriesSize: 256 << 20,
		CheckQuorum:               true,                // a leader without quorum steps down
		PreVote:                   true,                // a returning node does not disrupt
		StepDownOnRemoval:         true,                // a removed leader stops leading
		DisableProposalForwarding: !o.ForwardProposals, // else made on the leader only
		Logger:                    &raft.DefaultLogger{Logger: log.New(logfWriter(o.Logf), "", 0)},
	})
	if err != nil {
		return nil, fmt.Errorf("replication: start raft: %w", err)
	}
	n := &Node{
		opts: o, rn: rn,
		inbox: make(chan *pb.Message, 4096),
		// Unbuffered: once done is closed no proposal can slip into a
		// queue nobody reads.
		propc:   make(chan *Proposal),
		statusc: make(chan chan Status),
		ctlc:    make(chan func()),
		reportc: make(chan snapshotReport, 64),
		stopc:   make(chan struct{}),
		done:    make(chan struct{}),
		pending: map[uint64]*Proposal{},
		applied: o.Applied,
	}
	go n.run()
	return n, nil
}

type logfWriter func(format string, args ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("RAFT: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Receive queues a message from the transport; it never blocks (a full
// inbox drops the message, raft retries).
func (n *Node) Receive(m *pb.Message) {
	select {
	case n.inbox <- m:
	default:
	}
}

// Propose proposes an entry of the given kind (an application kind, not
// KindNoop or a reserved one). It fails at once with a NotLeaderError on a
// follower; otherwise the handle completes when the entry is committed and
// applied here, or fails after ProposeTimeout.
func (n *Node) Propose(kind logstore.Kind, data []byte) *Proposal {
	p := &Proposal{kind: kind, data: data, done: make(chan struct{}),
		deadline: time.Now().Add(n.opts.ProposeTimeout)}
	if kind == logstore.KindNoop || kind >= KindConfChange {
		p.finish(0, ErrReservedKind)
		return p
	}
	if !n.leading.Load() && (!n.opts.ForwardProposals || n.lead.Load() == 0) {
		p.finish(0, &NotLeaderError{Leader: n.lead.Load()})
		return p
	}
	t := time.NewTimer(n.opts.ProposeTimeout)
	defer t.Stop()
	select {
	case n.propc <- p:
	case <-n.done:
		p.finish(0, n.stoppedErr())
	case <-t.C:
		p.finish(0, ErrTimeout)
	}
	return p
}

// Leader returns the group's leader as this node knows it (0: none).
func (n *Node) Leader() uint64 { return n.lead.Load() }

// IsLeader tells whether this node leads the group.
func (n *Node) IsLeader() bool { return n.leading.Load() }

// Err returns why the node stopped on its own (nil while it runs or after
// a plain Stop).
func (n *Node) Err() error {
	n.failMu.Lock()
	defer n.failMu.Unlock()
	return n.failErr
}

func (n *Node) stoppedErr() error {
	if err := n.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrStopped, err)
	}
	return ErrStopped
}

// Stop stops the loop and fails every open proposal with ErrStopped. The
// caller closes the Storage afterwards. Idempotent.
func (n *Node) Stop() {
	n.stop.Do(func() { close(n.stopc) })
	<-n.done
}

// PeerProgress is the leader's view of one member.
type PeerProgress struct {
	Match, Next uint64
	State       string // raft's progress state: StateProbe, StateReplicate, StateSnapshot
	Active      bool   // heard from within the last election timeout
}

// Status describes the node.
type Status struct {
	ID, Group, Lead, Term, Commit, Applied, LastIndex uint64
	State                                             string // StateFollower, StateCandidate, StateLeader, StatePreCandidate
	Progress                                          map[uint64]PeerProgress
	Err                                               error
	// The configuration applied here, and the latest snapshot's index and
	// the log's first index (entries below it went with compaction).
	Voters, Learners          []uint64
	SnapshotIndex, FirstIndex uint64
	// SnapshotRetains: the first entry the latest snapshot carries along
	// (SnapshotIndex+1: none; LogRetainer). The counters count since
	// NewNode: snapshots taken here, not taken because they would exceed
	// MaxSnapshotBytes, installed from a leader, and log segments removed.
	SnapshotRetains                                                          uint64
	SnapshotsTaken, SnapshotsDeferred, SnapshotsInstalled, SegmentsCompacted uint64
}

// Status returns the node's status (progress only on the leader).
func (n *Node) Status() Status {
	c := make(chan Status, 1)
	select {
	case n.statusc <- c:
		return <-c
	case <-n.done:
		last, _ := n.opts.Storage.LastIndex()
		s := Status{ID: n.opts.ID, Group: n.opts.Group, LastIndex: last, State: "stopped", Err: n.stoppedErr()}
		n.addConfStatus(&s)
		return s
	}
}

func (n *Node) statusLocal() Status {
	st := n.rn.Status()
	last, _ := n.opts.Storage.LastIndex()
	s := Status{ID: n.opts.ID, Group: n.opts.Group, Lead: st.Lead, Term: st.HardState.GetTerm(),
		Commit: st.HardState.GetCommit(), Applied: n.applied, LastIndex: last, State: st.RaftState.String()}
	n.addConfStatus(&s)
	if len(st.Progress) > 0 {
		s.Progress = map[uint64]PeerProgress{}
		for id, pr := range st.Progress {
			s.Progress[id] = PeerProgress{Match: pr.Match, Next: pr.Next, State: pr.State.String(), Active: pr.RecentActive}
		}
	}
	return s
}

// fail records err, which stops the loop.
func (n *Node) fail(err error) {
	n.failMu.Lock()
	if n.failErr == nil {
		n.failErr = err
	}
	n.failMu.Unlock()
	n.opts.Logf("replication: group %d node %d stops: %v", n.opts.Group, n.opts.ID, err)
}

func unmarshalConf(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("replication: decode conf change: %w", err)
	}
	return nil
}
