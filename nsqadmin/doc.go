// Package nsqadmin is the cluster's web UI and its JSON API, compatible
// with NSQ v1.3.0's nsqadmin.
//
// NSQAdmin keeps no state of its own beyond an in-memory history. It
// finds the nsqd nodes either through nsqlookupd (--lookupd-http-address)
// or from a fixed list (--nsqd-http-address), fans each request out to
// every node's /stats and /info and every lookupd's /topics, /lookup,
// /nodes and /channels at once, merges the answers per topic, channel and
// node, and serves them under <base-path>/api. The queries and the wire
// types of the upstream replies are internal/clusterinfo's, under its
// Partial policy; this package does the merging and the /api shapes.
// When some upstreams fail the reply is still 200 with "message":
// "WARNING: <err>; <err>"; when all of them fail it is 502
// {"message":"UPSTREAM_ERROR: ..."}. Every upstream
// call is bounded by --http-client-connect-timeout and
// --http-client-request-timeout, so a slow or dead node delays a page by
// at most that long and then shows up in the warning.
//
// # Routes (all under --base-path)
//
//	GET  /, /topics, /topics/:topic, /topics/:topic/:channel,
//	     /nodes, /nodes/:node, /counter, /lookup     the HTML shell
//	GET  /ping, /static/:asset, /fonts/:asset
//	GET  /render                                     Graphite proxy (--proxy-graphite)
//	GET  /api/topics[?inactive=true], /api/topics/:topic,
//	     /api/topics/:topic/:channel, /api/nodes, /api/nodes/:node,
//	     /api/counter, /api/graphite?metric=rate&target=
//	POST /api/topics, /api/topics/:topic, /api/topics/:topic/:channel
//	DELETE /api/topics/:topic, /api/topics/:topic/:channel, /api/nodes/:node
//	GET/PUT /config/:opt
//
// The JSON shapes, admin actions, --admin-user ACL and notification
// bodies are NSQ's (see the project's nsqadmin digest), apart from the
// few deliberate differences listed in docs/differences.md.
//
// # Extensions
//
// nsqadmin samples the whole cluster every --history-interval (default
// 10s) into a ring covering --history-duration (default 1h), so the UI
// can chart message rates and depths without Graphite. Two endpoints of
// ours expose it:
//
//	GET <bp>/api/history[?topic=<t>[&channel=<c>]][&since=<unix ms>]
//
// returns the series of the cluster (no topic), a topic or a channel:
//
//	{"topic":"t","channel":"","interval_ms":10000,"duration_ms":3600000,
//	 "points":[{"ts":1700000000000,"depth":12,"topic_depth":0,"in_flight":3,
//	            "deferred":0,"clients":2,"rate":41.5,"requeue_rate":0,"timeout_rate":0}],
//	 "trend":{"rate":41.5,"growing":false},
//	 "channels":{"c":{"rate":41.5,"growing":false}},   (topic only)
//	 "message":""}
//
// depth is what waits to be delivered: a channel's depth, or for a topic
// (and the cluster) the topic's own depth plus every channel's depth.
// rate is messages per second published to the topic (cluster: to all
// topics), or handed to the channel, over the interval before the point;
// requeue_rate and timeout_rate likewise. A rate is null when it cannot
// be known yet (the first sample, a node just discovered); a counter that
// went backwards (node restart, topic re-created) counts from zero.
// Samples in which the series was absent are left out. growing is true
// when, over the last six samples (at least three), the depth rose more
// often than it fell and ended higher than it started. Unknown topics or
// channels give an empty points list; bad names give 400
// INVALID_ARG_TOPIC / INVALID_ARG_CHANNEL, a channel without a topic 400
// MISSING_ARG_TOPIC, a bad since 400 INVALID_ARG_SINCE.
//
//	GET <bp>/api/overview
//
// returns every topic (as /api/topics lists them, plus any a node has)
// with depth, backlog (topic depth + channel depths), in-flight, deferred,
// message count, rate, channel/node/client counts, paused and growing
// flags, and its channels with the same per-channel figures; this is what
// the front page shows so that a backlog can be spotted at a glance.
//
// Channel operations of our nsqd (dead-letter setting and list, replay,
// peek) and per-channel lag are fanned out to the topic's nodes by
// ops.go: <bp>/api/topics/:topic/:channel/{config,dead,dead/replay,peek}
// and <bp>/api/lag/:topic (docs/operations.md). Replay in nsqd's log
// storage (replay.go): the "rewind" action of POST
// <bp>/api/topics/:topic/:channel and POST <bp>/api/topics with "start",
// both with "dry_run", sent only to the topic's nodes whose /stats say
// "storage":"log", and <bp>/api/replay/:topic for the UI. Replication
// (replication.go): <bp>/api/replication, and the node's "replication"
// section in <bp>/api/nodes/:node. <bp>/metrics serves
// Prometheus metrics of nsqadmin's requests, its upstream queries
// (counted in the HTTP client's transport) and the history (metrics.go).
//
// # Concurrency
//
// Options are read through an atomic pointer and replaced whole by PUT
// /config/:opt (configMu serializes the writers). The history has its own
// lock; no code path holds two locks at once. Main runs two goroutines,
// the history sampler and the notification sender, and Exit waits for
// both; mu orders their wg.Add before Exit's Wait (Exit may run first).
package nsqadmin
