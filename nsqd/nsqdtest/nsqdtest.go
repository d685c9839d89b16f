package nsqdtest

import (
	"testing"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
)

// Start creates an nsqd with test defaults — TCP and HTTP on 127.0.0.1:0,
// no HTTPS, broadcast address 127.0.0.1, data in tb.TempDir(), logging to
// the test log — then applies configure in order, runs Main and returns
// the daemon. It fails the test if nsqd.New does. At cleanup it calls
// Exit, waits for Main and reports an error Main returned. The caller may
// Exit the daemon earlier (Exit is idempotent). Like tb.Fatal, call it
// from the goroutine running the test.
func Start(tb testing.TB, configure ...func(*nsqd.Options)) *nsqd.NSQD {
	tb.Helper()
	opts := nsqd.NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.HTTPSAddress = ""
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = tb.TempDir()
	opts.Logger = testutil.NewLogger(tb)
	for _, f := range configure {
		f(opts)
	}
	n, err := nsqd.New(opts)
	if err != nil {
		tb.Fatalf("nsqdtest: start nsqd on %s: %v", opts.TCPAddress, err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	tb.Cleanup(func() {
		n.Exit()
		if err := <-done; err != nil {
			tb.Errorf("nsqdtest: nsqd Main: %v", err)
		}
	})
	return n
}

// Lookupds returns a configure func that registers the nsqd with the
// nsqlookupds at these TCP addresses.
func Lookupds(tcpAddrs ...string) func(*nsqd.Options) {
	return func(o *nsqd.Options) { o.NSQLookupdTCPAddresses = tcpAddrs }
}

// Addrs returns the TCP and HTTP addresses n listens on.
func Addrs(n *nsqd.NSQD) (tcpAddr, httpAddr string) {
	return n.RealTCPAddr().String(), n.RealHTTPAddr().String()
}
