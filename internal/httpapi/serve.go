package httpapi

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

// Serve serves handler on listener until the listener is closed; a closed
// listener is not an error.
func Serve(listener net.Listener, handler http.Handler, errorLog func(string, ...any)) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
	}
	err := srv.Serve(listener)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "use of closed network connection") {
		return err
	}
	return nil
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
