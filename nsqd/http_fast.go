package nsqd

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
)

// The HTTP fast path. Every connection accepted on the plain HTTP listener
// is read first by fastConn, which answers the requests it fully
// understands — POST /pub and POST /mpub over HTTP/1.1 with a
// Content-Length (http_fast_parse.go lists the exact shape) — itself, with
// the bytes net/http would send. At the first request it does not fully
// understand it hands the connection to net/http with every byte it has
// read and not answered replayed, and net/http serves that connection
// from then on. The HTTPS listener is net/http's alone.
//
// Why: a /pub through net/http cost about twice the CPU of our handler:
// a goroutine per request for the background read, a header map, a
// context, two deadline updates and a flush per response (see the
// httppub section of docs/performance.md).

// Deadlines of the fast path. NSQ sets none; the idle and head ones are
// those of our net/http servers (internal/httpapi).
const (
	fastIdleTimeout = httpapi.IdleTimeout
	// fastHeadTimeout bounds the rest of a request head once its first
	// byte came, fastBodyTimeout then its body.
	fastHeadTimeout = httpapi.HeaderTimeout
	fastBodyTimeout = 60 * time.Second
	// fastWriteTimeout bounds a reply write to a client that reads
	// nothing.
	fastWriteTimeout = 60 * time.Second
)

// fastHTTP owns the plain HTTP listener: it accepts, runs a fastConn per
// connection and offers the connections it hands off to net/http through
// Accept, being the listener net/http's Server serves. Safe for concurrent
// use.
type fastHTTP struct {
	s *httpServer
	l net.Listener

	idle, head, body, write time.Duration // the deadlines above; tests shorten them

	handoff chan net.Conn
	done    chan struct{} // closed by shutdown
	once    sync.Once
	wg      sync.WaitGroup // the fastConn goroutines

	mu     sync.Mutex // guards conns, closed
	conns  map[net.Conn]struct{}
	closed bool

	served, handedOff atomic.Int64 // requests answered here, connections given to net/http
}

func newFastHTTP(s *httpServer, l net.Listener) *fastHTTP {
	return &fastHTTP{s: s, l: l,
		idle: fastIdleTimeout, head: fastHeadTimeout, body: fastBodyTimeout, write: fastWriteTimeout,
		handoff: make(chan net.Conn), done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
}

// acceptLoop accepts until the listener is closed, then closes the
// connections still on the fast path and waits for their goroutines.
// Temporary accept errors (EMFILE) back off as net/http does.
func (f *fastHTTP) acceptLoop() error {
	defer f.wg.Wait()
	defer f.shutdown()
	var backoff time.Duration
	for {
		c, err := f.l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-f.done:
					return nil
				}
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		backoff = 0
		if !f.track(c) {
			c.Close()
			return nil
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			newFastConn(f, c).serve()
		}()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (f *fastHTTP) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *fastHTTP) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// shutdown closes the connections on the fast path and ends Accept; the
// ones handed off are net/http's to close.
func (f *fastHTTP) shutdown() {
	f.once.Do(func() {
		close(f.done)
		f.mu.Lock()
		f.closed = true
		for c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
}

// handOff gives c, with br's unread bytes in front, to net/http.
func (f *fastHTTP) handOff(c net.Conn, br *bufio.Reader) {
	f.untrack(c)
	c.SetDeadline(time.Time{}) // net/http sets its own
	rc := &replayConn{Conn: c, br: br}
	f.handedOff.Add(1) // before net/http can answer on it
	select {
	case f.handoff <- rc:
	case <-f.done:
		c.Close()
	}
}

// Accept returns the next connection handed off to net/http.
func (f *fastHTTP) Accept() (net.Conn, error) {
	select {
	case c := <-f.handoff:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

// Close is net/http's Server closing its listener: the fast path stops
// too. The real listener is closed by NSQD.Exit.
func (f *fastHTTP) Close() error {
	f.shutdown()
	return nil
}

// Addr is the real listener's address.
func (f *fastHTTP) Addr() net.Addr { return f.l.Addr() }

// replayConn is a connection handed off to net/http: its reads return the
// bytes the fast path had buffered and not answered, then the socket's.
// net/http never reads a connection from two goroutines at once.
type replayConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.br != nil && c.br.Buffered() > 0 {
		return c.br.Read(p)
	}
	c.br = nil
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close after an error reply, as it does on
// a bare TCP connection.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
