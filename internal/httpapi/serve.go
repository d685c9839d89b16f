package httpapi

import (
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"time"
)

// The deadlines of our HTTP servers (NSQ sets none).
const (
	// HeaderTimeout bounds a request head from its first byte.
	HeaderTimeout = 30 * time.Second
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection: above the 90 s after which Go's http.Transport drops
	// its idle connections, so those clients close first.
	IdleTimeout = 120 * time.Second
)

// NewServer returns an http.Server for handler with our defaults: net/http's
// own error log goes to logf, HeaderTimeout and IdleTimeout apply. There is
// no ReadTimeout: it would bound the whole request from its first byte and,
// once passed, cancel the request context of a handler still running (a
// 60 s pprof profile), so a body sent slowly is not bounded here.
func NewServer(handler http.Handler, logf func(format string, args ...any)) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: HeaderTimeout,
		IdleTimeout:       IdleTimeout,
		ErrorLog:          log.New(logWriter(logf), "", 0),
	}
}

type logWriter func(format string, args ...any)

func (w logWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Serve runs srv on listener until either is closed; that is not an error.
// Close srv (not only the listener) to drop keep-alive connections too.
func Serve(srv *http.Server, listener net.Listener) error {
	err := srv.Serve(listener)
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Listen opens a TCP listener on addr, or a unix socket when addr is not
// of the host:port form (NSQ's rule).
func Listen(addr string) (net.Listener, error) {
	if IsUnixAddr(addr) {
		return net.Listen("unix", addr)
	}
	return net.Listen("tcp", addr)
}

// IsUnixAddr reports whether addr names a unix socket path rather than a
// host:port.
func IsUnixAddr(addr string) bool {
	_, _, err := net.SplitHostPort(addr)
	return err != nil
}

// Port returns the TCP port of a listener, or -1 for a unix socket.
func Port(l net.Listener) int {
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return -1
}
