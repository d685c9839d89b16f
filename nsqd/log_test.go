package nsqd

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// Every line about a connection names it the same way, so an operator can
// grep one connection: "TCP: client(addr): " until the magic is read,
// "PROTOCOL(V2): [addr] " after.
func TestConnectionLogPrefix(t *testing.T) {
	opts := testOptions(t)
	log := testutil.NewLogger(t)
	opts.Logger = log
	n := startNSQD(t, opts)

	bad, err := net.Dial("tcp", n.RealTCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.Write([]byte("  V9"))
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, bad) // until nsqd closes it

	c := dial(t, n)
	c.cmd("NOPE")
	c.readFrame() // E_INVALID, then nsqd closes the connection

	badAddr, v2Addr := bad.LocalAddr().String(), c.conn.LocalAddr().String()
	// "exiting" is the last line of a connection
	eventually(t, func() bool { return log.Logged("PROTOCOL(V2): [" + v2Addr + "] exiting") }, "connection end logged")
	seen := map[string]int{}
	for _, l := range log.Lines() {
		for _, addr := range []string{badAddr, v2Addr} {
			if !strings.Contains(l, addr) {
				continue
			}
			seen[addr]++
			tcp, v2 := "TCP: client("+addr+"): ", "PROTOCOL(V2): ["+addr+"] "
			if !strings.Contains(l, tcp) && !(addr == v2Addr && strings.Contains(l, v2)) {
				t.Errorf("line without the connection prefix: %q", l)
			}
		}
	}
	if seen[badAddr] < 2 || seen[v2Addr] < 4 {
		t.Errorf("lines per connection: %v (want connected + bad magic, and connected + error + exiting ioloop + exiting)", seen)
	}
}
