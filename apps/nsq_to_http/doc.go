// Command nsq_to_http consumes one topic/channel and turns every message
// into an HTTP GET or POST to one or more addresses (round-robin,
// hostpool, epsilon-greedy or all of them), FINishing a message only when
// its request succeeded. It drains cleanly on SIGINT or SIGTERM.
package main
