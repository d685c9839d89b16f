package nsqlookupd

import (
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/testutil"
)

// Every line about a connection names it the same way, so an operator can
// grep one connection: "TCP: client(addr): " until the magic is read,
// "CLIENT(addr): " after.
func TestConnectionLogPrefix(t *testing.T) {
	log := testutil.NewLogger(t)
	n := mustStart(t, func(o *Options) { o.Logger = log })

	bad := dialRaw(t, n)
	bad.write([]byte("  V9"))
	bad.mustReply() // E_BAD_PROTOCOL
	bad.expectClosed()

	p := identified(t, n, "node.test", 4150, 4151)
	p.mustOK("REGISTER t c")
	p.mustOK("UNREGISTER t c")
	p.mustOK("PING")
	p.write([]byte("NOPE\n"))
	p.mustReply() // E_INVALID
	p.expectClosed()

	badAddr, addr := bad.localAddr(), p.localAddr()
	testutil.Eventually(t, waitTimeout, func() bool {
		return log.Logged("CLIENT(" + addr + "): closing, removed from 2 registrations")
	}, "connection end logged")
	seen := map[string]int{}
	for _, l := range log.Lines() {
		for _, a := range []string{badAddr, addr} {
			if !strings.Contains(l, a) || strings.Contains(l, "HTTP: ") {
				continue
			}
			seen[a]++
			if !strings.Contains(l, "TCP: client("+a+"): ") && !(a == addr && strings.Contains(l, "CLIENT("+a+"): ")) {
				t.Errorf("line without the connection prefix: %q", l)
			}
		}
	}
	// connected, magic, bad magic; connected, magic, IDENTIFY, 3 REGISTERs
	// (client, topic, channel), UNREGISTER, ping, error, closing
	if seen[badAddr] < 3 || seen[addr] < 8 {
		t.Errorf("lines per connection: %v", seen)
	}
}
