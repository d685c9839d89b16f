// Package logstore is the durable log under the broker: a segmented,
// checksummed, append-only log of entries with dense indexes and terms
// (Log), and group commit over it (Committer). It knows nothing of topics
// or messages; package brokerlog gives entries their meaning.
//
// # File format (the one place it is written down)
//
// A log is a directory of segment files named by the index of their first
// entry, zero-padded to 20 digits: 00000000000000000001.seg. Other names are
// ignored. A segment is a plain sequence of records, no header:
//
//	record  = len:uint32 crc:uint32 body          (little-endian)
//	body    = index:uint64 term:uint64 kind:uint8 data:[len-17]byte
//	crc     = CRC-32C (Castagnoli) of body
//
// len counts the body (17 + len(data), at most 17 + MaxEntryBytes). Indexes
// are dense within and across segments: the first record of a segment has
// the index in its name, each next record its predecessor's plus one; terms
// never decrease. A decoder stops at the first record that is short, fails
// its checksum, has an implausible length, or breaks the index or term rule.
// The index rule stands in for etcd's chained CRC: a stale but intact record
// cannot follow the right one.
//
// # Durability rules
//
//   - An entry is acknowledged only after the segment holding it was synced
//     (fdatasync), and, if the segment is new, after its directory was
//     synced.
//   - A segment is synced in full before the next one is created, so only
//     the last segment can have a torn tail. Open cuts a torn tail of the
//     last segment (and syncs the cut) and refuses, with ErrCorrupt, damage
//     anywhere else instead of dropping acknowledged entries.
//   - A failed write is cut back (Truncate to the previous size) and the log
//     stays writable: the failed round is never acknowledged, the next one
//     retries with new data (this is how a full disk recovers). A failed
//     sync breaks the log (ErrBroken): after a failed fsync the page cache
//     may have dropped the data, so only reopening, which re-reads what is on
//     disk, is trusted.
//   - DeletePrefix removes oldest segments first and TruncateSuffix newest
//     first, so a crash midway leaves a contiguous log.
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
// # Raft
//
// The shapes follow go.etcd.io/raft/v3 so that raft can later sit under the
// log without another copy of the data:
//
//	raft.Storage        logstore
//	InitialState()      HardState/ConfState: a small file beside the log (to add)
//	Entries(lo,hi,max)  Log.Entries(lo, hi, maxBytes): ≥1 entry, ErrCompacted/ErrUnavailable
//	Term(i)             Log.Term(i)
//	FirstIndex()        Log.FirstIndex()
//	LastIndex()         Log.LastIndex()
//	Snapshot()          the state machine's checkpoint (brokerlog), with its index and term
//	Ready.Entries       Log.Append then Log.Sync (TruncateSuffix first on conflicts)
//	snapshot install    Log.TruncateSuffix(snap.Index+1) resets the log
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
// views). Committer: mu (pending, write-side indexes) and amu (applied
// index, apply queue) are never held together; neither is held while
// calling Log methods, Apply, Gather or OnHealth. Committer.mu is never held
// while a Log lock is taken.
package logstore
