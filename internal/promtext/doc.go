// Package promtext writes the Prometheus text exposition format (version
// 0.0.4) and the standard go_* and process_* families, without the
// Prometheus client library. nsqd uses it for GET /metrics: the client
// library's package initialisation (protobuf descriptors, default
// collectors) costs about 2 MB of resident memory in an idle daemon,
// more than NSQ's whole idle footprint difference allows.
//
// A Writer is not safe for concurrent use; build one per scrape. There
// are no locks.
package promtext
