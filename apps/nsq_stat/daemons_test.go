package main

import (
	"testing"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqlookupd"
)

// startNSQD runs an nsqd on 127.0.0.1 ports chosen by the kernel,
// registered with the given lookupds, and returns its TCP and HTTP
// addresses.
func startNSQD(tb testing.TB, lookupdTCP ...string) (tcpAddr, httpAddr string) {
	tb.Helper()
	opts := nsqd.NewOptions()
	opts.TCPAddress, opts.HTTPAddress, opts.HTTPSAddress = "127.0.0.1:0", "127.0.0.1:0", ""
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = tb.TempDir()
	opts.Logger = testutil.NewLogger(tb)
	opts.NSQLookupdTCPAddresses = lookupdTCP
	n, err := nsqd.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	tb.Cleanup(func() {
		n.Exit()
		<-done
	})
	return n.RealTCPAddr().String(), n.RealHTTPAddr().String()
}

// startLookupd runs an nsqlookupd on 127.0.0.1 and returns its TCP and
// HTTP addresses.
func startLookupd(tb testing.TB) (tcpAddr, httpAddr string) {
	tb.Helper()
	opts := nsqlookupd.NewOptions()
	opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = testutil.NewLogger(tb)
	l, err := nsqlookupd.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Main() }()
	tb.Cleanup(func() {
		l.Exit()
		<-done
	})
	return l.RealTCPAddr().String(), l.RealHTTPAddr().String()
}
