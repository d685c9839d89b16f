// Command gonsq runs the go-nsq client's own test suite (the version in our
// go.mod, v1.1.0) against our nsqd and nsqlookupd, the way the suite's
// test.sh does:
//
//	go run ./integration/gonsq -bin build/
//
// It copies the suite out of the Go module cache (downloading it if need
// be), compiles it, then starts nsqlookupd on 127.0.0.1:4160/4161 and nsqd
// on 127.0.0.1:4150/4151/4152 with the suite's TLS files
// (test/server.pem, test/server.key, test/ca.pem) and
// --lookupd-tcp-address=127.0.0.1:4160, because the suite hard-codes those
// addresses. Only one run at a time may use those ports: the command holds
// an flock on $TMPDIR/nsq-conformance-fixed-ports.lock (the lock the shared
// conformance harness takes too) while its daemons run, and it stops with a
// clear error when something else listens on them.
//
// It prints one line per test as the test ends ("ok", "FAIL" with the
// test's last output lines, or "skip" with the reason), then
//
//	gonsq: N passed, M failed
//
// and exits 1 when anything failed (a test, the build, a daemon that did
// not start or did not stop cleanly on SIGTERM), 2 on bad usage. Tests the
// suite skips are also written to $NSQ_SKIP_LOG when it is set, for the
// summary at the end of `make test`. Daemon logs and the suite's full
// output stay in a temporary directory when something failed (or with
// -keep); the last lines say where.
//
// The command has no shared state: one goroutine drives the run, one per
// daemon waits for its exit.
package main
