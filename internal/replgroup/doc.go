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
// Files: Dir/raftstate and Dir/log/ (replication.Storage), Dir/checkpoint
// (brokerlog). The Engine is checkpointed by its owner; the log is never
// compacted (snapshots are replication's business, not done here).
//
// # Concurrency and lock order
//
// Member.mu guards applied and appliedCh; it is a leaf. Apply runs on the
// raft loop and takes State.mu (brokerlog) then Member.mu.
package replgroup
