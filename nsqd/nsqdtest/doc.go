// Package nsqdtest starts a real nsqd inside a test, in the manner of
// net/http/httptest: the daemon listens on 127.0.0.1 ports chosen by the
// kernel, keeps its data in the test's temporary directory, logs through
// the test log and stops when the test ends.
//
//	n := nsqdtest.Start(t, nsqdtest.Lookupds(lookupdTCP))
//	tcpAddr, httpAddr := nsqdtest.Addrs(n)
//
// Anything else a test needs (a fixed address, an existing data directory,
// a small --mem-queue-size) is set by a configure func that edits the
// nsqd.Options before nsqd.New. To restart a daemon on the same address
// and data, Exit the first one and Start again with the same settings;
// the cleanup of the first is then a no-op.
//
// Only test code should import this package. nsqd's own in-package tests
// cannot (it imports nsqd) and keep their own helper.
package nsqdtest
