// Package lookupdtest starts a real nsqlookupd inside a test, in the
// manner of net/http/httptest: the daemon listens on 127.0.0.1 ports
// chosen by the kernel, broadcasts 127.0.0.1, logs through the test log
// and stops when the test ends.
//
//	l := lookupdtest.Start(t)
//	tcpAddr, httpAddr := lookupdtest.Addrs(l)
//
// A configure func edits the nsqlookupd.Options before nsqlookupd.New for
// anything else a test needs (a short --inactive-producer-timeout, say).
//
// Only test code should import this package. nsqlookupd's own in-package
// tests cannot (it imports nsqlookupd) and keep their own helper.
package lookupdtest
