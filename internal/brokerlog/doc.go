// Package brokerlog is the broker's durable state on top of package
// logstore: the entry kinds (publish batches, topic and channel changes,
// channel state), the deterministic state machine they build (topics and
// channels as cursors over the log, not copies of messages), per-channel
// read-ahead readers, checkpoints and compaction. It knows nothing of nsqd;
// nsqd maps its commands onto Engine calls.
//
// # Model
//
// One node log holds every topic. A publish entry carries a batch of
// messages of one topic with everything the proposer decided (ID,
// timestamp, deferral, attempts, body); apply gives the batch's messages
// consecutive per-topic sequence numbers (the first message of a topic is
// 1). A channel is a cursor: floor (everything below is finished), finished
// ranges above it, requeued messages with due time and attempts, and
// attempts of messages in flight. A channel created with StartLatest begins
// at the tail, except that the first channel of a topic without channels
// gets the messages the topic held meanwhile (as in NSQ). Deleting the last
// channel makes the topic hold again.
//
// Applying reads only the entries and the state: no clock. Positions by time
// are resolved by the proposer (Engine.SeqAtTime) before proposing.
//
// FIN, REQ and attempt records (Engine.Finish, Requeue, Delivered) are
// collected and ride the next commit round (logstore's Gather hook) or, when
// idle, a round of their own after StateFlushInterval. They are never
// awaited: a lost FIN costs a duplicate delivery, never a message.
//
// Memory per topic: a sparse mark every 64 log entries (index, sequence,
// timestamp), plus per channel its finished ranges and requeued set. Message
// bodies live only in the log; a Reader holds at most its window.
//
// # Formats
//
// Entry payloads, kind numbers and the checkpoint file are specified in
// docs/storage-format.md. The checkpoint (Dir/checkpoint) holds the applied
// index, its term and the whole state; it is written tmp, fsync, rename,
// fsync dir, and only then may Compact remove the log segments it covers.
// Recovery: load the checkpoint (none: empty state), open the log (cutting
// a torn tail), replay the entries after the checkpoint.
//
// # Compaction and retention
//
// Compact removes whole segments below the lowest log position some channel
// still needs (its floor; for a topic without channels, what it holds),
// unless retention keeps them (RetainFor, RetainBytes). Requeued and
// deferred messages are above their channel's floor, so they pin it: a
// message deferred for a day keeps a day of log.
//
// With both limits a finished segment stays while either holds (young, or
// the log within RetainBytes). RetainedFrom gives the timestamp of a
// topic's oldest retained message (what "earliest" reaches).
//
// # Replay (seek.go)
//
// Engine.Replay creates a channel at a position or rewinds one: it waits
// for a barrier (so every earlier publish counts), then under cpMu (no
// compaction meanwhile) resolves the position against the applied log
// (SeqAtTime: the first message stamped at or after the time, found from
// the sparse marks, exact when timestamps do not decrease in log order),
// counts, and proposes a StartSeq record. A rewind never moves a floor
// forward (nothing unfinished is skipped) and carries the pending FIN/REQ
// records ahead of itself in one batch, so none applies after it.
//
// # Raft
//
// The State is raft's state machine and the checkpoint body its snapshot
// (snapshot.go: SnapshotState, RestoreState; RetainFrom is the low-water
// mark whose entries travel with the snapshot, LogTrimmed drops marks when
// the log's owner removed segments; replgroup wires them). Apply is deterministic, entries carry what the leader decided, and
// the Engine's proposal methods are the only writers, so replacing the local
// Committer with a raft loop changes where Committed comes from, not this
// package's types.
//
// # Wiring into nsqd (not done yet)
//
//	PUB/MPUB/DPUB, HTTP /pub /mpub  Engine.Publish (IDs, ts, deferral chosen by nsqd) → Proposal;
//	                                TCP: queue the Proposal in the client's ordered ack queue,
//	                                answer OK / E_PUB_FAILED from an ack goroutine; HTTP: Wait
//	GetTopic / GetChannel (create)  CreateTopic / CreateChannel(StartLatest), wait applied
//	DeleteExistingTopic, pause, ... DeleteTopic, PauseTopic, EmptyChannel, ... wait applied
//	channel pump                    Reader.Next into the channel's memory queue; Reader.Wait (per topic) to block
//	FIN / REQ / timeout             Finish / Requeue(due, attempts); deliveries: Delivered (optional)
//	restart                         State().Channel(...).Requeued → deferred heap; Reader from floor
//	/ping, /stats                   Healthy, Status, State().Topics/Channel (Depth)
//	housekeeping ticker             Compact(time.Now())
//
// Ephemeral topics and channels stay off the log. TOUCH needs no record
// (in-flight timeouts are not durable; a restart redelivers).
//
// # Known limits
//
//   - FIN/REQ records pending for a channel that is deleted and recreated
//     under the same name before they commit apply to the new channel.
//   - A long-deferred or stuck unfinished message pins its channel's floor
//     and so every segment after it.
//
// # Concurrency and lock order
//
// Engine.cpMu (Checkpoint, Compact, Replay) before State.mu; Replay also
// waits for commits while holding cpMu (apply never takes it). retMu is a
// leaf. State.mu guards the
// state; Apply takes it for writing per batch; queries and Readers take it
// for reading and never hold it while calling the committer. Compact holds
// State.mu for reading while reading the log (bounded: at most 64 entries per
// topic). pendingState.mu is a leaf. A Reader belongs to one goroutine.
package brokerlog
