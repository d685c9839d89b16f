package nsqlookupd

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
)

// FuzzV1Session runs arbitrary bytes through the lookup protocol of a real
// daemon: it must neither crash nor hang, and keeps answering.
func FuzzV1Session(f *testing.F) {
	ident := []byte(`{"broadcast_address":"h","tcp_port":4150,"http_port":4151,"version":"1.3.0"}`)
	identify := append([]byte("IDENTIFY\n"), binary.BigEndian.AppendUint32(nil, uint32(len(ident)))...)
	identify = append(identify, ident...)
	for _, s := range [][]byte{
		[]byte("PING\n"), identify,
		append(append([]byte{}, identify...), "REGISTER t c\nUNREGISTER t c\nREGISTER t\nUNREGISTER t\nPING\n"...),
		[]byte("REGISTER t c\n"), []byte("IDENTIFY\n\xff\xff\xff\xff"), []byte("IDENTIFY\n\x00\x00\x00\x02{}"),
		[]byte("REGISTER bad!name\n"), []byte("\n\n  \r\n"),
	} {
		f.Add(s)
	}
	n := mustStart(f, func(o *Options) { o.Logger = lg.Nop{}; o.LogLevel = lg.FATAL })
	addr := n.RealTCPAddr().String()
	f.Fuzz(func(t *testing.T, input []byte) {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("daemon stopped accepting: %v", err)
		}
		tc := conn.(*net.TCPConn)
		defer func() {
			tc.SetLinger(0) // no TIME_WAIT: a run makes many connections
			tc.Close()
		}()
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			tc.Write(append([]byte(protocol.MagicV1), input...))
			tc.CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, tc); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("daemon did not end the session within 5 s of the input's end")
			}
		}
	})
}
