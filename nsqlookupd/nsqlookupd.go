package nsqlookupd

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/version"
)

// ErrMainCalledTwice is returned by a second call to Main.
var ErrMainCalledTwice = errors.New("nsqlookupd: Main called more than once")

// NSQLookupd is the discovery daemon: it owns the listeners, the client
// connections and the registration table. Create it with New, run it with
// Main and stop it with Exit. Its methods are safe for concurrent use.
type NSQLookupd struct {
	opts     *Options
	log      *lg.Leveled
	hostname string
	db       *registrationDB
	metrics  *metrics

	tcpListener  net.Listener
	httpListener net.Listener
	httpServer   *http.Server

	mainStarted atomic.Bool
	exitOnce    sync.Once
	exitCh      chan struct{} // closed by Exit

	mu      sync.Mutex // guards closing, conns and wg.Add
	closing bool       // set by Exit; no goroutine or connection is added after it
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup // the servers and every connection handler
}

// New validates opts and opens the TCP and HTTP listeners, so an address
// with port 0 is resolved before New returns (see RealTCPAddr). Nothing is
// served until Main.
func New(opts *Options) (*NSQLookupd, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = lg.NewStderr(opts.LogPrefix)
	}
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("get hostname: %w", err)
	}
	n := &NSQLookupd{
		opts:     opts,
		log:      lg.NewLeveled(logger, opts.LogLevel),
		hostname: hostname,
		db:       newRegistrationDB(opts.InactiveProducerTimeout, opts.TombstoneLifetime),
		exitCh:   make(chan struct{}),
		conns:    map[net.Conn]struct{}{},
	}
	n.metrics = newMetrics(n)
	n.logf(lg.INFO, "%s", version.String("nsqlookupd"))

	n.tcpListener, err = net.Listen("tcp", opts.TCPAddress)
	if err != nil {
		return nil, fmt.Errorf("listen (--tcp-address %s) failed: %w", opts.TCPAddress, err)
	}
	n.httpListener, err = net.Listen("tcp", opts.HTTPAddress)
	if err != nil {
		n.tcpListener.Close()
		return nil, fmt.Errorf("listen (--http-address %s) failed: %w", opts.HTTPAddress, err)
	}
	n.httpServer = httpapi.NewServer(newHTTPHandler(n), func(f string, args ...any) {
		n.logf(lg.ERROR, "HTTP: "+f, args...)
	})
	return n, nil
}

// RealTCPAddr returns the address the TCP listener is bound to.
func (n *NSQLookupd) RealTCPAddr() net.Addr { return n.tcpListener.Addr() }

// RealHTTPAddr returns the address the HTTP listener is bound to.
func (n *NSQLookupd) RealHTTPAddr() net.Addr { return n.httpListener.Addr() }

func (n *NSQLookupd) realTCPPort() int  { return portOf(n.tcpListener.Addr()) }
func (n *NSQLookupd) realHTTPPort() int { return portOf(n.httpListener.Addr()) }

func portOf(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}

// Main serves TCP and HTTP until Exit is called, then returns nil. It
// returns an error, and stops waiting, only if a server fails for a
// reason other than Exit; the caller should then call Exit. Main may be
// called once.
func (n *NSQLookupd) Main() error {
	if !n.mainStarted.CompareAndSwap(false, true) {
		return ErrMainCalledTwice
	}
	errCh := make(chan error, 2)
	n.logf(lg.INFO, "TCP: listening on %s", n.RealTCPAddr())
	if !n.spawn(func() { errCh <- n.serveTCP() }) {
		return nil
	}
	n.logf(lg.INFO, "HTTP: listening on %s", n.RealHTTPAddr())
	if !n.spawn(func() { errCh <- n.serveHTTP() }) {
		return nil
	}
	select {
	case <-n.exitCh:
		return nil
	case err := <-errCh:
		if err != nil {
			n.logf(lg.FATAL, "%s", err)
		}
		return err
	}
}

// Exit stops the daemon: it closes the listeners and every client
// connection (TCP and HTTP) and waits for all of the daemon's goroutines.
// It may be called more than once and before or without Main.
func (n *NSQLookupd) Exit() {
	n.exitOnce.Do(func() {
		n.mu.Lock()
		n.closing = true
		conns := make([]net.Conn, 0, len(n.conns))
		for c := range n.conns {
			conns = append(conns, c)
		}
		n.mu.Unlock()

		close(n.exitCh)
		n.tcpListener.Close()
		for _, c := range conns {
			c.Close()
		}
		n.httpServer.Close()   // the listener (if served) and every HTTP connection
		n.httpListener.Close() // in case Main never served it
		n.logf(lg.INFO, "exiting")
	})
	n.wg.Wait()
}

// spawn runs f in a goroutine that Exit waits for, unless Exit has begun.
func (n *NSQLookupd) spawn(f func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
	return true
}

func (n *NSQLookupd) serveHTTP() error {
	if err := httpapi.Serve(n.httpServer, n.httpListener); err != nil {
		return fmt.Errorf("HTTP server on %s: %w", n.RealHTTPAddr(), err)
	}
	return nil
}

func (n *NSQLookupd) logf(level lg.Level, format string, args ...any) {
	n.log.Logf(level, format, args...)
}
