package lookupdtest

import (
	"testing"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqlookupd"
)

// Start creates an nsqlookupd with test defaults — TCP and HTTP on
// 127.0.0.1:0, broadcast address 127.0.0.1, logging to the test log —
// then applies configure in order, runs Main and returns the daemon. It
// fails the test if nsqlookupd.New does. At cleanup it calls Exit, waits
// for Main and reports an error Main returned. The caller may Exit the
// daemon earlier (Exit is idempotent). Like tb.Fatal, call it from the
// goroutine running the test.
func Start(tb testing.TB, configure ...func(*nsqlookupd.Options)) *nsqlookupd.NSQLookupd {
	tb.Helper()
	opts := nsqlookupd.NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = testutil.NewLogger(tb)
	for _, f := range configure {
		f(opts)
	}
	l, err := nsqlookupd.New(opts)
	if err != nil {
		tb.Fatalf("lookupdtest: start nsqlookupd on %s: %v", opts.TCPAddress, err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Main() }()
	tb.Cleanup(func() {
		l.Exit()
		if err := <-done; err != nil {
			tb.Errorf("lookupdtest: nsqlookupd Main: %v", err)
		}
	})
	return l
}

// Addrs returns the TCP and HTTP addresses l listens on.
func Addrs(l *nsqlookupd.NSQLookupd) (tcpAddr, httpAddr string) {
	return l.RealTCPAddr().String(), l.RealHTTPAddr().String()
}
