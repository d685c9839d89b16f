// Package replication is the first, standalone layer of replicated
// topics (issue 15): a raft group member over the durable log. It knows
// nothing of nsqd, topics or messages; it replicates logstore records and
// hands committed ones to a callback. It lives under internal/ because
// only our daemons use it and its API will change while nsqd is wired to
// it; it is not a library for others.
//
// Consensus is go.etcd.io/raft/v3 (v3.7.0). raft does no I/O: this package
// supplies its storage, drives it and carries its messages.
//
// # Pieces
//
//   - Storage: raft.Storage over a logstore.Log (Dir/log) and a small state
//     file (Dir/raftstate: HardState, ConfState, snapshot position; format
//     in state.go), replaced tmp, fsync, rename, fsync dir. Entries map 1:1
//     to log records: a normal entry's data is kind byte + payload, stored
//     as record Kind + Data, so brokerlog's kinds and readers work on the
//     replicated log unchanged; raft's empty leader entry is KindNoop; conf
//     changes use the reserved kinds KindConfChange/KindConfChangeV2. The
//     state file is rewritten only when term or vote change (raft needs
//     those durable before a message goes out); the commit index rides
//     along then and at Close, and may lag: raft relearns it from the
//     leader, and NewNode raises it to Options.Applied, which only
//     committed entries can have reached.
//   - Node: one goroutine owns the RawNode. Each turn it ticks, steps
//     received messages (bounded inbox, dropped on overflow), or makes up
//     to 512 queued proposals; then for each Ready it appends the entries
//     (cutting a conflicting suffix first), syncs the log once for all of
//     them (group commit), saves the hard state if needed, sends the
//     messages, applies the committed entries through Options.Apply and
//     advances. A proposal is made on the leader (followers answer
//     NotLeaderError with the leader's id, or, with
//     Options.ForwardProposals, hand it to raft, which sends it to the
//     leader; forward.go completes it when an entry with the same data is
//     applied here); its index is read off the Ready that follows the Propose
//     calls, and its handle completes when the entry at that index is
//     applied here with the proposal's term (else ErrDropped), or fails
//     with ErrTimeout after ProposeTimeout. ErrTimeout means "unknown":
//     the entry may still commit, so a publisher answering E_PUB_FAILED may
//     cause a duplicate, never a loss. CheckQuorum makes a leader without
//     a quorum step down; PreVote keeps a returning node from disrupting.
//     A storage or apply error, or a raft panic on a storage error, stops
//     the node (Err), never the process.
//   - Snapshots (snapshot.go, node_snap.go): Options.StateMachine gives
//     the applied state as bytes (Snapshot) and takes it back (Restore).
//     Every SnapshotEntries applied entries, or on CreateSnapshot, the
//     loop stores the state as of the applied index in Dir/snapshot (its
//     index, term and configuration beside the data; replaced tmp, fsync,
//     rename, fsync dir), records it in the state file, and removes the
//     log's whole segments below index+1−CatchUpEntries. raft serves
//     Storage.Snapshot from that file when a follower needs entries the
//     log no longer has; a follower installs it (ApplySnapshot: snapshot
//     file, state file, then Log.Reset to index+1) and then Restore runs.
//     The snapshot file is the commit point: OpenStorage finishes an
//     install a power cut interrupted, so a cut at any point leaves the
//     old state or the whole new one (TestSnapshotInstallPowerCut cuts at
//     every file operation). NewNode restores the stored snapshot when
//     Options.Applied is older. A snapshot is one raft message, so at most
//     ~255 MiB (the frame limit).
//   - Retained entries (snapshot_payload.go): a StateMachine that is a
//     LogRetainer (nsqd's broker: message bodies stay in the log) names
//     the lowest index its state reads; the snapshot carries the entries
//     from there to its index (read from the log when sending; stored in
//     the snapshot file of an installed one), compaction never removes
//     them, and an install writes them into the follower's log (which
//     then starts there) before Restore; LogTrimmed tells the state where
//     the log starts after a compaction or install. A snapshot too big
//     with its entries (Options.MaxSnapshotBytes) is deferred
//     (ErrSnapshotDeferred) and nothing is compacted.
//   - Transport: Send(group, msg) never blocks. MemNetwork is the
//     in-process one for tests; TCPTransport sends frames
//     len:uint32 group:uint64 protobuf message over one outbound
//     connection per peer, redialled after a failure, with a bounded
//     queue per peer that drops on overflow (raft retries).
//
// # How nsqd uses it (per-node groups, issue 15; internal/replgroup)
//
// With peers 1..N and replication factor R, node i's group has id i and
// members i and the next R−1 nodes in ring order; node i normally leads
// it. Every nsqd runs one Node per group it belongs to, all sharing one
// TCPTransport whose Handler routes by group id to Node.Receive. Each
// group has its own Storage directory (data/groups/<i>/), and brokerlog's
// Engine for that group applies the entries (Options.Apply) and serves
// readers from Storage.Log(). Publishing on node i proposes to group i and
// answers OK when the handle completes; if i does not lead its group (just
// restarted) it forwards to the leader and later takes leadership back
// (Node.TransferLeader).
//
// # Membership (membership.go)
//
// Changes go through raft's ConfChangeV2, one at a time, proposed on the
// leader: AddMember(id) adds id as a learner, waits until the leader's
// match index for it reaches the commit index of the moment it was added,
// then promotes it (AddLearner and PromoteMember are the two halves);
// RemoveMember(id) removes a voter or learner (a removed leader steps
// down: raft's StepDownOnRemoval). Each returns once the change is applied
// on this node; ErrConfChangePending means another change is not applied
// yet. The new member runs with StorageOptions.Join (no configuration of
// its own: it cannot campaign) and is reachable through the transport
// before AddMember. It starts from a snapshot: the log does not hold the
// group's first configuration (Peers seed the state file, not the log),
// so every node takes a snapshot right after applying a membership change,
// and AddLearner refuses without Options.StateMachine. TransferLeader(to)
// works from any member and repeats the request each election timeout.
//
// # Lost disk
//
// A node whose data directory lost only unsynced bytes (power cut)
// restarts as itself: everything it acknowledged was synced. A node whose
// data directory is gone (disk replaced) must not come back as the same
// member: with a fresh state it would vote again in terms it already voted
// in, and its old acknowledgements count in majorities for entries it no
// longer has (TestLostDiskSameIDLoses shows acknowledged entries lost that
// way). It comes back as a new member id, MemberID(node, gen+1), with a
// Join storage, on the same address (transports route an unknown member
// id to NodeOf(id)'s address; a Node drops messages for another id), and
// the group runs RemoveMember(old) then AddMember(new). Nothing here can
// tell a replaced disk from a first start: nsqd decides (see Missing).
// Member ids are never reused.
//
// # Failure tests
//
// Power cuts use vfs.MemFS (and a crash-at-the-n-th-operation wrapper in
// snapshot_test.go); TestPartition (root only, skipped otherwise) runs each
// member as a subprocess of the test binary in its own network namespace
// (internal/testutil/netlab: namespaces nsqreplt-<pid>-*, a bridge
// namespace, veth links cut with ip link set down, everything deleted at
// cleanup and stale ones of dead runs first) and talks to it over pipes
// (partition_member_test.go), isolating the leader and flapping links.
//
// # Missing
//
//   - Snapshots are taken on the loop, in memory: the state machine's
//     bytes (a brokerlog checkpoint: cursors and ranges) are small. A
//     snapshot with retained entries is read and encoded off the loop
//     when a follower needs it (snapshot_send.go), but it is still one
//     message held whole in memory on both sides, and the follower writes
//     its entries on its loop (it is catching up anyway). Streaming in
//     chunks would bound the memory.
//   - Retained entries are whole log entries from the low-water mark on,
//     finished ones included: one stuck message pins everything after it,
//     and past MaxSnapshotBytes snapshots (and compaction) wait.
//   - Only single changes are proposed (never a joint configuration),
//     though the state and snapshot files store raft's whole ConfState.
//   - Detecting a replaced disk: nsqd does it (nsqd/replication_member.go,
//     docs/replication.md), from its identity file and its peers' record
//     of the member ids they heard from.
//   - ReportUnreachable from the transport (raft probes anyway).
//
// # Concurrency and lock order
//
// Node: the loop goroutine owns the RawNode, pending proposals and the
// applied index; other goroutines reach it only through channels (inbox,
// propc, statusc, ctlc for closures run on the loop, reportc for snapshot
// outcomes) and atomics (leader). Node.failMu is a leaf. Storage.mu
// guards the in-memory state and is held while the state file is written,
// never while calling the Log (whose own locks come after it) and never
// while the snapshot file is written or read. MemNetwork.mu and
// TCPTransport.mu are leaves, never held while calling a Handler or a
// SendSnapshot done callback (which only does a non-blocking channel
// send). Options.Apply and the StateMachine methods run on the loop and
// must not call back into the Node.
//
// LogRetainer's methods run on the loop like the others.
//
// Storage.buildMu (a snapshot being built for sending, off the loop) is
// taken before Storage.mu, never while holding it.
//
// Order: Node loop → Storage.buildMu → Storage.mu → logstore Log.wmu → Log.mu.
package replication
