package nsqd

import (
	"fmt"
	"net"
	"sync"
	"testing"
)

// TestMaxConnections: with --max-connections 5 the sixth connection gets
// an error frame and is closed; once one closes, a new one is accepted.
func TestMaxConnections(t *testing.T) {
	opts := testOptions(t)
	opts.MaxConnections = 5
	n := startNSQD(t, opts)
	var held []*testConn
	for i := 0; i < 5; i++ {
		c := dial(t, n)
		c.cmd("PUB t", []byte("x"))
		c.expectOK()
		held = append(held, c)
	}
	extra := dial(t, n)
	extra.expectError("E_INVALID too many connections (max 5)")
	extra.expectClosed()
	held[0].conn.Close()
	eventually(t, func() bool {
		conn, err := net.Dial("tcp", n.RealTCPAddr().String())
		if err != nil {
			return false
		}
		defer conn.Close()
		c := &testConn{tb: t, conn: conn, r: newReader(conn)}
		// a refused connection may be closed before the write: no Fatal
		conn.Write([]byte(fmt.Sprintf("  V2PUB t\n%s", sized([]byte("x")))))
		f, err := c.readFrameHB(false)
		return err == nil && string(f.data) == "OK"
	}, "a connection accepted again after one closed")
	for _, c := range held[1:] {
		c.cmd("PUB t", []byte("x"))
		c.expectOK()
	}
}

// TestConnectionFlood: 300 connections at once, each publishing and
// closing, some closing before the magic; every publish is counted and
// the daemon keeps serving.
func TestConnectionFlood(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	const conns = 300
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", n.RealTCPAddr().String())
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			if i%3 == 0 {
				return // gone before the magic
			}
			c := &testConn{tb: t, conn: conn, r: newReader(conn)}
			conn.Write([]byte(fmt.Sprintf("  V2PUB flood\n%s", sized([]byte("m")))))
			if f, err := c.readFrameHB(false); err != nil || string(f.data) != "OK" {
				errs <- fmt.Errorf("PUB: %v %v", f, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := uint64(conns - (conns+2)/3)
	for _, tp := range getStats(t, n, "&topic=flood").Topics {
		if tp.MessageCount != want {
			t.Fatalf("message_count %d, want %d", tp.MessageCount, want)
		}
	}
	eventually(t, func() bool {
		n.clientsMu.Lock()
		defer n.clientsMu.Unlock()
		return len(n.conns) == 0 && len(n.clients) == 0
	}, "every connection forgotten")
	canary(t, n)
}
