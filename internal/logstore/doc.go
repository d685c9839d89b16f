// Package logstore is the durable log under the broker: a segmented,
// checksummed, append-only log of entries with dense indexes and terms
// (Log), and group commit over it (Committer). It knows nothing of topics
// or messages; package brokerlog gives entries their meaning.
//
// # File format
//
// Specified in docs/storage-format.md (the one place it is written down):
// a directory of segment files named by their first index, each a sequence
// of records len:uint32 crc32c:uint32 body, body = index term kind data.
// Indexes are dense, terms never decrease, and only the last segment may
// have a torn tail, which Open cuts. A failed write is cut back and the log
// stays usable (a full disk recovers); a failed sync breaks it until it is
// reopened (after a failed fsync the page cache may have dropped the data).
//
// # Indexes
//
// The Committer keeps four indexes apart (Status): Written (appended to the
// file), Synced (durable), Committed (safe to acknowledge: equal to Synced on
// a single node, a quorum's durable index under raft) and Applied (handed to
// the state machine; readers serve only applied entries). Proposals are
// acknowledged at Committed; WaitApplied waits for Applied.
//
// # Group commit
//
// One committer goroutine loops: take every pending proposal (up to
// MaxBatchBytes), give them consecutive indexes, one Log.Append (one write),
// one Log.Sync, then close every proposal's Done. Proposals arriving while a
// sync runs queue up and form the next round, so the batch size adapts to the
// sync latency without a timer. A second goroutine applies committed rounds
// in order, so applying overlaps the next round's sync. A Gather hook lets
// unawaited records (channel state) ride every round.
//
// Back-pressure: MaxQueuedBytes bounds the record bytes proposed and not yet
// applied. Propose blocks while the bound is reached, so a publisher that
// does not wait for its proposals (nsqd without --sync-ack) is slowed to
// what the disk takes instead of queueing the backlog in memory.
//
// Publishers that wait for each OK before the next publish split into two
// cohorts taking turns (one syncing, one forming the next round); clients
// that pipeline commands fill rounds fully. Measured on this machine's ext4
// (2026-12): letting a second fsync start while the first runs gave no gain
// (more, smaller syncs in the same time), so one fsync runs at a time.
// Overwriting a zero-filled, preallocated segment synced in about 1.0 ms
// against 1.8 ms for appending (the file size need not be journalled); that
// is the next thing to try, with a torn-write model for overwrites in MemFS.
//
// # Raft
//
// The shapes follow go.etcd.io/raft/v3 so that raft can later sit under the
// log without another copy of the data:
//
//	raft.Storage        logstore
//	InitialState()      HardState/ConfState: a small file beside the log (to add)
//	Entries(lo,hi,max)  Log.Entries(lo, hi, maxBytes): ≥1 entry, ErrCompacted/ErrUnavailable
//	Term(i)             Log.Term(i)
//	FirstIndex()        Log.FirstIndex() (raft's returns an error too: always nil here)
//	LastIndex()         Log.LastIndex()
//	Term(FirstIndex-1)  the snapshot's term (brokerlog LastCheckpoint): the log
//	                    does not keep the term of the entry before its first
//	Snapshot()          the state machine's checkpoint (brokerlog), with its index and term
//	Ready.Entries       Log.Append then Log.Sync (TruncateSuffix first on conflicts)
//	snapshot install    Log.Reset(snap.Index+1) empties the log
//	CommittedEntries    Apply, in order
//
// Under raft the Committer's role splits: proposals go to RawNode.Propose
// (one raft entry per round's batch, or per proposal), the raft loop persists
// Ready.Entries with the same one-write-one-sync step, and Committed comes
// from raft's commit index instead of the local sync. Term stops being 1.
//
// # Concurrency and lock order
//
// Log: wmu (writers; held across file writes) before mu (in-memory index;
// never held across a write, held for reading while Entries copies segment
// views). hints.mu (where recent reads ended, readhint.go) is a leaf, never
// held with mu. Committer: mu (pending, queued bytes, write-side indexes; its
// conds wake and room) and amu (applied index, apply queue) are never held
// together; a proposer waits on room only in Propose, holding nothing of the
// committer's; neither is held while
// calling Log methods, Apply, Gather or OnHealth. Committer.mu is never held
// while a Log lock is taken.
package logstore
