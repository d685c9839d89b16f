package testutil

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// FreeAddrs returns n distinct 127.0.0.1 addresses whose ports were free a
// moment ago, for a child process that must be told its address up front
// (in-process daemons bind 127.0.0.1:0 and ask for the real address
// instead). All n listeners are open at once, so the ports differ.
func FreeAddrs(tb testing.TB, n int) []string {
	tb.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("free port: %v", err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

// FreeAddr returns one address as FreeAddrs does.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return FreeAddrs(tb, 1)[0]
}

var pingClient = &http.Client{Timeout: 5 * time.Second}

// WaitHTTP polls GET url until it answers 200 OK, failing the test when
// that does not happen within timeout or the process exits first; both
// failures show the process's output.
func (p *Proc) WaitHTTP(tb testing.TB, url string, timeout time.Duration) {
	tb.Helper()
	err := Poll(timeout, func() bool {
		if p.Exited() {
			return true
		}
		resp, err := pingClient.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	switch {
	case p.Exited():
		tb.Fatalf("process exited before %s answered: %v\n%s", url, p.err, p.Output())
	case err != nil:
		tb.Fatalf("%s not answering within %s\n%s", url, timeout, p.Output())
	}
}

// Output returns what the process wrote so far, stdout then stderr.
func (p *Proc) Output() string {
	return "stdout:\n" + p.Stdout.String() + "\nstderr:\n" + p.Stderr.String()
}
