// Command nsq_to_nsq consumes topics from one NSQ cluster and re-publishes
// each message to one of a set of destination nsqd nodes (round-robin,
// hostpool or epsilon-greedy), optionally filtering and reducing JSON
// bodies. A source message is FINished only once its publish was
// acknowledged. It drains cleanly on SIGINT or SIGTERM.
package main
