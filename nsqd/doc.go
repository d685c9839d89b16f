// Package nsqd is the message broker daemon: a drop-in replacement for
// NSQ's nsqd that speaks the same TCP protocol (V2), serves the same HTTP
// API and reads and writes the same data directory.
//
// # Structure
//
// NSQD owns the listeners, the topics and the connected clients. A Topic
// copies every published message to each of its Channels; a Channel hands
// each message to one subscribed client and tracks it in flight until it
// is finished, requeued or times out. Each connection is a client with two
// goroutines: a reader that runs commands and a pump that writes messages
// and heartbeats.
//
// # Hot paths
//
// A publish fans out on the publisher's goroutine: the topic copies the
// message into each channel's in-memory queue under that channel's lock and
// wakes one idle subscriber. A subscriber's pump takes up to RDY minus
// in-flight messages from the queue in one locked batch, writes them into
// its buffered writer and flushes when it has nothing more to send, when it
// reaches its RDY limit, or when the buffer fills. FIN wakes the pump only
// when enough slots have opened for a useful batch. There is no goroutine
// or Go channel hop per message except on the disk overflow path.
//
// HTTP: on the plain listener every connection is read first by the fast
// path (http_fast.go, http_fast_parse.go, http_fast_conn.go), one
// goroutine per connection that answers POST /pub and /mpub over
// HTTP/1.1 with a Content-Length itself, with NSQ's reply bytes, and
// hands the connection to net/http, unread bytes replayed, at the first
// request it does not fully understand (another endpoint, chunked,
// Expect, Connection: close, HTTP/1.0, auth or --tls-required, a body
// over the limits). Its deadlines: 120 s idle, 30 s for a head, 60 s for
// a body, 60 s per write; net/http has ReadHeaderTimeout 30 s and
// IdleTimeout 120 s but nothing bounds a slow body there.
//
// Only when a topic cannot deliver (no channels yet, paused, or a backlog
// waiting) are messages kept in the topic's own queue, drained by one pump
// goroutine per topic.
//
// # Storage
//
// Topics and channels keep up to --mem-queue-size messages in memory and
// the rest in a storage.Backend: NSQ's disk queue files (internal/diskq,
// written and read in batches), or a discarding backend for #ephemeral
// names. A durable channel's queue is three parts in delivery order
// (channel_spill.go): the memory queue, the disk backlog, and a tail in
// memory of what came while the backlog existed. Memory queue and tail
// together hold at most --mem-queue-size; beyond that the oldest part of
// the tail is detached and written to disk in batches (up to 1024
// messages; a batch stays in memory until written) by the publisher that
// went over, after it released Channel.mu, so subscribers never wait
// behind a disk write. The disk pump reads the backlog back
// into the memory queue and, once it is empty, the tail joins the memory
// queue: a spill ends as soon as delivery catches up.
//
// Publish pacing (channel_pace.go): when a durable channel's memory is
// full (or it has a disk backlog) and its subscribers take at least half
// as many messages as are put (a quarter while a backlog slows them), a
// publish waits before it places its messages, holding no lock, until the
// subscribers have taken as many as it brings, at most 2 ms. Publishing
// then runs at the rate of delivery and messages stay in memory instead
// of going to disk and back. Slower or idle subscribers never hold a
// publisher back; the backlog then goes to disk as in NSQ.
//
// On a clean stop, every queued (spill batches and tail first, then the
// memory queue), in-flight and deferred message is written to the
// channel's backend.
//
// A full disk must not cost acknowledged messages: diskRoom (atomics only,
// no lock) counts the record bytes durable queues hold in memory and
// refuses a publish, before any queue is touched, unless the data file
// system has room for it, a copy per channel, all of memory and a margin.
// A record the backend still refuses stays in memory. In --storage=log the
// same diskRoom gates every proposal to the log (logmode_topic.go), so a
// publish is refused before it is accepted there too.
//
// --storage=log on a data directory of NSQ disk queues imports them first
// (logmode_import.go, nsqdir.go): a complete log is built beside it,
// renamed into place, and only then are the NSQ files removed; see
// README "What OK means" and docs/storage-format.md.
//
// # Order
//
// NSQ promises no delivery order; this nsqd keeps more, and the tests pin
// down exactly this much. To one subscriber, without requeues or timeouts,
// a channel's messages come in publish order, also when the backlog spills
// to disk: while older messages are on disk (Channel.onDisk), new ones
// queue behind them in the tail, or on disk behind the tail's older part,
// even when memory has room again, and a topic's
// backlog (kept while it had no channel) goes out before anything
// published later, also while its pump holds a batch (Topic.pumping).
// After a clean restart, what was on disk comes first and in order, then
// the tail behind it (both one run in publish order), then what was in
// the memory queue (older), in order, then what was in flight or
// deferred. TestSpillOrderConcurrentPublishers and
// TestCleanRestartOrderWithTail pin this down across the tail.
//
// # Replication
//
// With --replication-peers (replication.go, replication_channel.go,
// replication_opts.go, replication_stats.go) the node runs one
// replgroup.Member per group it belongs to; logMode.eng is its own group's
// engine, so publishing and the daemon's topic/channel changes go there. A
// logged channel gets one pump per group instead of logPump; each reads
// only while this node leads that group, and Message.src names the log a
// message came from so FIN/REQ go back to it. The watch loop (replWatch)
// creates the topics and channels other groups hold without proposing
// them again (getTopic/getChannel with propose false) and takes the own
// group's leadership back. Lines about it carry REPLICATION or
// REPLICATION(group g).
//
// Membership (replication_member.go, replication_open.go,
// replication_control.go, replication_reconcile.go; docs/replication.md):
// <data>/replication.json records the member id this node runs in each
// group; a group whose state is gone is rejoined as the next generation
// with a Join storage, and a start with no state at all asks the peers
// (control messages on transport group 0) whether they heard from this
// node before. The reconcile loop (replReconcile) sends hellos and, in
// each group this node leads, makes one conf change at a time toward the
// ring of the peer list and the incarnations the nodes announce.
//
// # Logging
//
// Lines carry the prefix of what they are about: TOPIC(name),
// CHANNEL(topic:name), LOOKUPD(addr), HTTP, STATSD. Every line about a TCP
// connection names it one way: "TCP: client(addr):" until the protocol magic is read, then
// "PROTOCOL(V2): [addr]". Errors wrap with ": %w" and carry no level.
//
// # Lock order
//
// A goroutine that holds one of these locks may take only locks further
// down the list:
//
//  1. NSQD.metaMu (persistMetadata holds it while listing topics and
//     channels) and NSQD.clientsMu (a new connection checks NSQD.exiting
//     under it); the two are never held together.
//  2. NSQD.mu.
//  3. Topic.mu (publishers hold it for reading while fanning out).
//  4. Channel.spillMu (held while one spill batch is written; a writer
//     takes Channel.mu under it to pick the batch and releases it for the
//     write, or, holding Channel.mu already, takes spillMu with TryLock,
//     which never waits; close and Empty take it first so no write is in
//     progress while they drain). Publishers hold Topic.mu for
//     reading while they write a spill.
//  5. Topic.qmu or Channel.mu, never both. The disk queue's own lock
//     (internal/diskq) is a leaf taken with at most Topic.mu (read) and
//     Channel.spillMu held, never under Channel.mu.
//  6. client.writeMu (the IDENTIFY upgrades take client.mu under it); it is
//     never held while taking an NSQD, Topic or Channel lock.
//  7. client.mu (Channel.mu is held while reading a subscriber's topology).
//
// Leaves, held while taking nothing else: NSQD.optsMu, NSQD.healthMu (set
// by a disk write while Topic.mu is held), lookupPeers.mu,
// guidFactory.mu, deadLedger.mu, fastHTTP.mu, replSet.mu, replSet.ctlMu and replHeard.mu
// (held while its file is written). lookupPeers is notified only after
// NSQD.mu and Topic.mu are released.
//
// Log mode: FIN and REQ are recorded in the engine's pending state under
// Channel.mu (brokerlog's pendingState.mu is a leaf), so a rewind, which
// drops the channel's memory under Channel.mu and then commits the pending
// records ahead of itself, orders after every FIN it did not refuse. A
// rewind waits for its commit holding no nsqd lock (logmode_replay.go).
//
// A message at its channel's attempt limit is taken off the queue under
// Channel.mu, and published to the dead-letter topic only after Channel.mu
// is released (deadletter.go): that publish takes NSQD.mu and the other
// topic's locks.
package nsqd
