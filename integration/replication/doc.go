// Package replication runs replicated clusters (issue 15) as real
// processes on 127.0.0.1: three nsqd with --replication-peers and one
// nsqlookupd, go-nsq producers and consumers, kill -9 and restart. It has no
// non-test code. NSQ_REPL_CYCLES sets the crash loop's cycles (default 5;
// scripts/repl-crashloop.sh runs 100).
package replication
