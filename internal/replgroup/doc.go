// Package replgroup is one member of one replicated broker log: a raft
// group member (package replication) whose log is a brokerlog Engine's log
// and whose committed entries build that Engine's State. nsqd runs one
// Member per group it belongs to (issue 15: node i's group is i and the
// next R−1 nodes of the peer list).
//
// The Member is the Engine's committer (brokerlog.Commits): Propose goes
// to raft (forwarded to the leader when this member follows), and a
// proposal is done once its entry is committed (fsynced on a majority) and
// applied here, or failed after the propose timeout (unknown: it may still
// commit, so a publisher that answers E_PUB_FAILED may cause a duplicate,
// never a loss).
//
// Options.ID is the member id (replication.MemberID(node, generation));
// Options.Join opens a new directory with no configuration, for a member
// the group's leader adds (a node whose state was lost, or one new to the
// group: nsqd decides, nsqd/replication_member.go). Config reads the
// stored term and configuration without the raft loop.
//
// Files: Dir/raftstate, Dir/snapshot and Dir/log/ (replication.Storage),
// Dir/checkpoint (brokerlog, written by the owner so a restart replays
// less).
//
// # Snapshots and compaction (snapshot.go)
//
// The Member is the raft node's StateMachine and LogRetainer. The snapshot
// of the group at applied index A is the Engine's checkpoint body as of A
// (topics, marks, channel cursors: floors, FIN ranges, REQ due times and
// attempts) plus, carried by replication beside it, the log entries from
// RetainFrom to A, where RetainFrom is the log position of the oldest
// message some channel has not finished (for a topic without channels,
// the oldest it holds), i.e. the low-water mark. Those entries hold the
// bodies of every unfinished message below A, so a follower that installs
// the snapshot writes them into its own log (the log then starts at the
// mark, with the leader's indexes and terms), restores the state, applies
// A+1.. and its readers deliver every unfinished message and none that is
// finished. Compaction removes only whole segments below
// min(low-water mark, A+1−CatchUpEntries), as log mode's Compact never
// removes what a channel needs; the Engine then drops its marks below the
// new first index (LogTrimmed).
//
// Chosen over "checkpoint + the unfinished bodies alone": the carried
// entries are the log's own, so the follower's log and readers are the
// leader's, with no second message store and no second read path. The
// price: entries between the mark and A that are finished travel too, so
// one stuck message pins everything after it (as in log mode); a snapshot
// that would exceed MaxSnapshotBytes (one raft message, ≤ ~255 MiB) is
// deferred (replication.ErrSnapshotDeferred, counted in the node's Status
// and nsqd's /stats replication) and the log is not compacted until the
// backlog shrinks. Cost: Snapshot encodes the state under State.mu (read)
// and writes the small snapshot file on the raft loop every
// SnapshotEntries entries; the carried entries are read from the log only
// when a follower needs the snapshot, off the loop.
//
// # Concurrency and lock order
//
// Member.mu guards applied and appliedCh; it is a leaf. Apply runs on the
// raft loop and takes State.mu (brokerlog) then Member.mu; so do the
// StateMachine methods (Restore: State.mu, released, then Member.mu).
package replgroup
