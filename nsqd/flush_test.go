package nsqd

import (
	"encoding/binary"
	"testing"
	"time"
)

// TestPubOKNotHeldByPartialCommand: a PUB whose body is complete is
// answered at once even when the next command's header (and a '\n' byte)
// is already buffered but its body is not.
func TestPubOKNotHeldByPartialCommand(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	var b []byte
	b = append(b, "PUB held\n"...)
	b = append(b, sized([]byte("a"))...)
	b = append(b, "PUB held\n"...)
	b = binary.BigEndian.AppendUint32(b, 10)
	b = append(b, "x\ny"...) // a newline inside the unfinished body
	c.send(b)
	// the heartbeat is 30 s: an OK held until then misses this deadline
	c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	var hdr [8]byte
	if _, err := c.r.Read(hdr[:1]); err != nil {
		t.Fatalf("first PUB not answered while the second is incomplete: %v", err)
	}
	c.r.UnreadByte()
	c.expectOK()
	c.send([]byte("0123456"))
	c.expectOK()
}
