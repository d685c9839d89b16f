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
//     advances. A proposal is made on the leader only (followers answer
//     NotLeaderError with the leader's id: forwarding is the caller's
//     choice); its index is read off the Ready that follows the Propose
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
//   - Transport: Send(group, msg) never blocks. MemNetwork is the
//     in-process one for tests; TCPTransport sends frames
//     len:uint32 group:uint64 protobuf message over one outbound
//     connection per peer, redialled after a failure, with a bounded
//     queue per peer that drops on overflow (raft retries).
//
// # How nsqd will use it (per-node groups, issue 15)
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
// (RawNode.TransferLeader, not exposed yet).
//
// # Missing
//
//   - Snapshots are taken on the loop, in memory: fine for a brokerlog
//     checkpoint (cursors and ranges), not for the messages themselves,
//     which stay in the log until compaction (nsqd's snapshot must carry
//     or reference what is still unfinished).
//   - Membership change: conf-change entries are applied and their
//     ConfState saved, but there is no API to propose one, and joint
//     configurations are not stored (only voters and learners).
//   - nsqd wiring, leadership transfer back to the home node, forwarding,
//     /stats (Status has what the replication section needs).
//   - ReportUnreachable/ReportSnapshot from the transport.
//
// # Concurrency and lock order
//
// Node: the loop goroutine owns the RawNode, pending proposals and the
// applied index; other goroutines reach it only through channels (inbox,
// propc, statusc) and atomics (leader). Node.failMu is a leaf. Storage.mu
// guards the in-memory state and is held while the state file is written,
// never while calling the Log (whose own locks come after it). MemNetwork.mu
// and TCPTransport.mu are leaves, never held while calling a Handler.
// Options.Apply runs on the loop and must not call back into the Node.
package replication
