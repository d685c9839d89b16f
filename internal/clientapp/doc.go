// Package clientapp holds what NSQ's client apps (nsq_tail, nsq_to_file,
// nsq_to_http, nsq_to_nsq, to_nsq, nsq_stat) share:
//
//   - OptionFlag, the --consumer-opt/--producer-opt flag that applies
//     "name,value" pairs to a go-nsq Config, rejecting cleanly the inputs on
//     which go-nsq itself would panic (tls_config, an unknown
//     backoff_strategy, a missing value for a non-boolean option);
//   - the address-source rule (exactly one of --nsqd-tcp-address and
//     --lookupd-http-address) and connecting a consumer accordingly;
//   - flag-set parsing with the exit codes of Go's flag package, the
//     user_agent and --version strings, and Setup, the start of every
//     app's run (parse, --version, logger, validate) with NSQ's exit codes;
//   - HostPool, the destination picker of nsq_to_http and nsq_to_nsq
//     (round-robin, hostpool and epsilon-greedy);
//   - TimerMetrics, the rolling latency status line;
//   - thin wrappers over internal/clusterinfo (its Strict policy) for
//     topic and producer discovery and summed channel stats.
//
// The package never imports a daemon package; everything it knows about
// nsqd and nsqlookupd is their HTTP API.
package clientapp
