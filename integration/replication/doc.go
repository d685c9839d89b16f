// Package replication runs replicated clusters (issue 15) as real
// processes: three nsqd with --replication-peers and one nsqlookupd, go-nsq
// producers and consumers, on 127.0.0.1 with kill -9 and restart (the crash
// loop), and, as root, each nsqd in a network namespace of its own with
// links cut and healed (the partition test, internal/testutil/netlab). It
// has no non-test code. NSQ_REPL_CYCLES sets the crash loop's cycles
// (default 5; scripts/repl-crashloop.sh runs 100), NSQ_PARTITION_CYCLES the
// partition test's (default 8; scripts/repl-partition.sh runs 100).
package replication
