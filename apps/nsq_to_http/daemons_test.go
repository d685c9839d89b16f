package main

import (
	"testing"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
)

// startNSQD runs an nsqd on 127.0.0.1 ports chosen by the kernel and
// returns its TCP and HTTP addresses.
func startNSQD(tb testing.TB) (tcpAddr, httpAddr string) {
	tb.Helper()
	opts := nsqd.NewOptions()
	opts.TCPAddress, opts.HTTPAddress, opts.HTTPSAddress = "127.0.0.1:0", "127.0.0.1:0", ""
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = tb.TempDir()
	opts.Logger = testutil.NewLogger(tb)
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
