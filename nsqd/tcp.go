package nsqd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
)

// connDrainTimeout bounds how long Exit waits for connection goroutines
// after closing their sockets, so a stuck one cannot delay persisting.
const connDrainTimeout = 2 * time.Second

// acceptLoop accepts TCP clients until the listener closes.
func (n *NSQD) acceptLoop() error {
	n.log.Logf(lg.INFO, "TCP: listening on %s", n.tcpListener.Addr())
	for {
		conn, err := n.tcpListener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept failed: %w", err)
		}
		if !n.trackConn(conn) {
			continue
		}
		go func() {
			defer n.connWG.Done()
			defer n.untrackConn(conn)
			n.handleConn(conn)
		}()
	}
}

// trackConn registers a new connection so Exit can close it even before
// it sent the protocol magic, and counts its goroutine in connWG. It
// refuses the connection (with an error frame) when --max-connections is
// reached or the daemon is exiting. connWG.Add happens under clientsMu,
// which closeConns takes before connWG.Wait: an accepted connection is
// either refused here or counted before Exit waits.
func (n *NSQD) trackConn(conn net.Conn) bool {
	n.clientsMu.Lock()
	exiting := n.isExiting()
	full := n.opts.MaxConnections > 0 && len(n.conns) >= n.opts.MaxConnections
	if !exiting && !full {
		n.conns[conn] = struct{}{}
		n.connWG.Add(1)
	}
	n.clientsMu.Unlock()
	if full && !exiting {
		n.logTCP(conn.RemoteAddr(), lg.WARN, "refused: --max-connections %d reached", n.opts.MaxConnections)
		buf := protocol.AppendFrame(nil, protocol.FrameTypeError,
			[]byte(fmt.Sprintf("%s too many connections (max %d)", protocol.ErrInvalid, n.opts.MaxConnections)))
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write(buf)
	}
	if exiting || full {
		conn.Close()
		return false
	}
	return true
}

func (n *NSQD) untrackConn(conn net.Conn) {
	n.clientsMu.Lock()
	delete(n.conns, conn)
	n.clientsMu.Unlock()
}

// closeConns closes every TCP connection and waits (bounded) for their
// goroutines.
func (n *NSQD) closeConns() {
	n.clientsMu.Lock()
	for _, c := range n.clients {
		c.closeConn()
	}
	for conn := range n.conns {
		conn.Close()
	}
	n.clientsMu.Unlock()
	done := make(chan struct{})
	go func() {
		n.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(connDrainTimeout):
		n.log.Logf(lg.WARN, "TCP: connections still closing after %s; persisting anyway", connDrainTimeout)
	}
}

// handleConn reads the magic and runs the V2 protocol.
func (n *NSQD) handleConn(conn net.Conn) {
	n.logTCP(conn.RemoteAddr(), lg.INFO, "connected")
	conn.SetReadDeadline(time.Now().Add(n.opts.ClientTimeout))
	var magic [4]byte
	if _, err := io.ReadFull(conn, magic[:]); err != nil {
		n.logTCP(conn.RemoteAddr(), lg.ERROR, "failed to read protocol version: %s", err)
		conn.Close()
		return
	}
	if string(magic[:]) != protocol.MagicV2 {
		n.logTCP(conn.RemoteAddr(), lg.ERROR, "bad protocol magic '%s'", magic)
		var buf []byte
		buf = protocol.AppendFrame(buf, protocol.FrameTypeError, []byte(protocol.ErrBadProtocol))
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write(buf)
		conn.Close()
		return
	}
	c := newClient(n.lastClientID.Add(1), conn, &clientDefaults{
		heartbeat:           n.opts.ClientTimeout / 2,
		outputBufferTimeout: n.opts.OutputBufferTimeout,
		msgTimeout:          n.opts.MsgTimeout,
	})
	n.clientsMu.Lock()
	if n.isExiting() {
		n.clientsMu.Unlock()
		conn.Close()
		return
	}
	n.clients[c.id] = c
	n.clientsMu.Unlock()

	(&protocolV2{n: n}).serve(c)

	n.clientsMu.Lock()
	delete(n.clients, c.id)
	n.clientsMu.Unlock()
	n.logV2(c, lg.INFO, "exiting")
}
