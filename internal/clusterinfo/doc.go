// Package clusterinfo is how the project asks an NSQ cluster what it
// looks like: the wire types of nsqlookupd's and nsqd's HTTP replies
// (Peer, Node, Stats and what they hold) and the queries over them
// (topics, channels and producers from the lookupds; /info and /stats
// from the nsqds).
//
// A Client fans every query out to all the upstreams it needs at once and
// applies one of two policies when some fail:
//
//   - Partial (nsqadmin): the result holds what the healthy upstreams
//     said, and the error is a *PartialError when some failed or an
//     *AllFailedError ("failed to query any nsqd: ...", NSQ's text) when
//     none answered;
//   - Strict (the client apps): the first failure in address order, and
//     no result, so that an app never acts on a partial list.
//
// Every error names the request that failed ("GET http://host:port/path?q:
// ..."), so an operator can tell which node said what. Results are
// deterministic: unions are sorted, producer lists keep the order of the
// addresses given. Aggregating the answers (summing, merging nodes,
// converting to a served format) is the caller's business.
//
// Beyond NSQ's fields, Stats decodes our nsqd's additions: a topic's
// storage ("log" or "diskqueue") and oldest retained message, and the
// "replication" section (Replication: groups, leader, term, commit and
// applied index, members with their lag). From NSQ's nsqd they are empty.
//
// Addresses are host:port, or a URL with a scheme as go-nsq accepts for
// lookupds (see Endpoint).
//
// # Concurrency
//
// A Client is safe for concurrent use and holds no lock; each query
// waits for the goroutines it starts before it returns. nsqlookupd also
// marshals its own replies with Peer and Node, so the JSON it serves and
// the JSON read here are declared once.
//
// The package never imports a daemon package.
package clusterinfo
