package nsqlookupd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
)

// serveTCP accepts connections until the listener is closed.
func (n *NSQLookupd) serveTCP() error {
	var backoff time.Duration
	for {
		conn, err := n.tcpListener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if isTemporary(err) {
				// e.g. out of file descriptors: wait and retry, as net/http does
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				n.logf(lg.WARN, "TCP: accept error: %s; retrying in %s", err, backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-n.exitCh:
					return nil
				}
			}
			return fmt.Errorf("TCP accept on %s: %w", n.RealTCPAddr(), err)
		}
		backoff = 0
		if !n.trackConn(conn) {
			conn.Close()
			return nil
		}
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// trackConn registers conn so Exit can close it and starts its handler,
// unless Exit has begun.
func (n *NSQLookupd) trackConn(conn net.Conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return false
	}
	n.conns[conn] = struct{}{}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.handleConn(conn)
		conn.Close()
		n.mu.Lock()
		delete(n.conns, conn)
		n.mu.Unlock()
	}()
	return true
}

// handleConn reads the protocol magic and runs the V1 protocol.
func (n *NSQLookupd) handleConn(conn net.Conn) {
	remote := conn.RemoteAddr().String()
	n.logf(lg.INFO, "TCP: client(%s): connected", remote)
	r := bufio.NewReaderSize(conn, readBufferSize)
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		n.logf(lg.ERROR, "TCP: client(%s): failed to read protocol version: %s", remote, err)
		return
	}
	n.logf(lg.INFO, "TCP: client(%s): desired protocol magic '%s'", remote, magic[:])
	if string(magic[:]) != protocol.MagicV1 {
		protocol.WriteV1Reply(conn, []byte(protocol.ErrBadProtocol))
		n.logf(lg.ERROR, "TCP: client(%s): bad protocol magic '%s'", remote, magic[:])
		return
	}
	c := &clientV1{n: n, remote: remote, r: r, w: bufio.NewWriter(conn)}
	c.ioLoop()
}
