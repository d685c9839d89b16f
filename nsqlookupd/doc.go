// Package nsqlookupd is the NSQ discovery daemon: a drop-in replacement for
// nsqlookupd v1.3.0.
//
// Every nsqd keeps one TCP connection to each nsqlookupd, sends the "  V1"
// magic, IDENTIFYs itself once and then REGISTERs / UNREGISTERs the topics
// and channels it carries, PINGing every 15 s. The daemon keeps what it
// hears in an in-memory registration table keyed by (category, key,
// subkey) — ("client","",""), ("topic",t,"") and ("channel",t,c) — whose
// values are the announcing peers ("producers"). Consumers and nsqadmin
// read the table over HTTP: /lookup, /topics, /channels, /nodes and /debug;
// operators edit it with /topic/create, /topic/delete, /topic/tombstone,
// /channel/create and /channel/delete. Nothing is persisted: a restarted
// daemon is empty until its nsqds reconnect.
//
// Producers that have not pinged within Options.InactiveProducerTimeout
// are hidden (not removed) from /lookup and /nodes; a tombstoned producer
// is hidden from /lookup for Options.TombstoneLifetime. A closed
// connection removes its peer from every registration at once, leaving the
// keys in place.
//
// Usage:
//
//	n, err := nsqlookupd.New(opts) // validates opts, opens both listeners
//	go n.Main()                    // serves until Exit
//	addr := n.RealTCPAddr()        // the bound address, also with port 0
//	n.Exit()                       // closes listeners and connections, waits
//
// # Deliberate differences from NSQ
//
// Bad input never takes the daemon down: IDENTIFY bodies of length <= 0 or
// over 1 MiB and command lines over 64 KiB are refused with an error reply
// instead of being allocated. Topic and channel names in HTTP queries are
// matched literally: NSQ treats "*" in them as a wildcard, so that
// /topic/delete?topic=* deleted every topic.
//
// # Logging
//
// Every line about a TCP connection names it one way: "TCP: client(addr):"
// until the protocol magic is read, then "CLIENT(addr):", registrations
// included. Errors wrap with ": %w" and carry no level.
//
// # Metrics
//
// GET /metrics (beyond NSQ, metrics.go) serves the registration table as
// read at scrape time (one registrationDB read lock per scrape), counters
// and latency histograms of HTTP requests by route and of TCP commands,
// and the Go runtime, on a registry of the daemon's own.
//
// # Locking
//
// NSQLookupd.mu (closing, the connection set) and registrationDB.mu (the
// table, its indexes and tombstone state) are never held at the same time;
// registrationDB.mu is a leaf lock taken by one DB method at a time, so
// every DB operation is atomic. A peer's liveness (peerInfo.lastUpdate) is
// an atomic written by its connection's PING; the rest of a peerInfo is
// immutable once IDENTIFY has published it. Exit takes NSQLookupd.mu only
// to mark the daemon closing and copy the connection set, then closes
// listeners and connections without any lock held, and waits.
package nsqlookupd
