package benchutil

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/protocol"
)

// Conn is a hand-rolled V2 connection: buffered writes, frame reads.
type Conn struct {
	net.Conn
	R *bufio.Reader
	W *bufio.Writer
}

// Dial connects, sends the magic and an IDENTIFY with body.
func Dial(addr string, identify map[string]any) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &Conn{Conn: nc, R: bufio.NewReaderSize(nc, 64*1024), W: bufio.NewWriterSize(nc, 4096)}
	c.W.WriteString(protocol.MagicV2)
	if identify != nil {
		body, _ := json.Marshal(identify)
		c.W.WriteString("IDENTIFY\n")
		c.WriteBody(body)
		if err := c.W.Flush(); err != nil {
			return nil, err
		}
		if _, _, err := c.ExpectResponse(); err != nil {
			return nil, fmt.Errorf("IDENTIFY: %w", err)
		}
	}
	return c, c.W.Flush()
}

// WriteBody writes a 4-byte length and body into the write buffer.
func (c *Conn) WriteBody(body []byte) { protocol.WriteBody(c.W, body) }

// ReadFrame reads one frame into buf (see protocol.ReadFrame); data
// aliases buf until the next call.
func (c *Conn) ReadFrame(buf []byte) (int32, []byte, error) {
	return protocol.ReadFrame(c.R, buf)
}

// ExpectResponse reads frames until a non-heartbeat response; an error
// frame is an error.
func (c *Conn) ExpectResponse() (int32, []byte, error) {
	for {
		typ, data, err := c.ReadFrame(nil)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case typ == protocol.FrameTypeError:
			return typ, data, fmt.Errorf("server error: %s", data)
		case typ == protocol.FrameTypeResponse && bytes.Equal(data, protocol.Heartbeat):
			c.W.WriteString("NOP\n")
			c.W.Flush()
			continue
		}
		return typ, data, nil
	}
}

// DialPerCPU opens one connection per CPU (GOMAXPROCS) to addr, each
// sending an IDENTIFY with identify, and runs setup (if not nil) on each,
// e.g. to subscribe. Any failure is fatal.
func DialPerCPU(addr string, identify map[string]any, setup func(*Conn) error) []*Conn {
	conns := make([]*Conn, runtime.GOMAXPROCS(0))
	for i := range conns {
		c, err := Dial(addr, identify)
		if err != nil {
			Fatal("connect: %s", err)
		}
		if setup != nil {
			if err := setup(c); err != nil {
				Fatal("%s", err)
			}
		}
		conns[i] = c
	}
	return conns
}

// Measure waits for deadline (see WaitDeadline), then runs work on every
// connection at once, each in its own goroutine, and when all return
// prints with Report the time taken and the total of the message counts
// they returned, at size bytes a message. work gets the common start time.
func Measure(conns []*Conn, deadline string, size int, work func(c *Conn, start time.Time) (msgs int64)) {
	WaitDeadline(deadline)
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total.Add(work(c, start))
		}()
	}
	wg.Wait()
	Report(time.Since(start), total.Load(), size)
}

// WaitDeadline sleeps until a "YYYY-MM-DD HH:MM:SS" UTC start time.
func WaitDeadline(deadline string) {
	if deadline == "" {
		return
	}
	t, err := time.Parse("2006-01-02 15:04:05", deadline)
	if err != nil {
		Fatal("invalid --deadline %q: %s", deadline, err)
	}
	d := time.Until(t)
	log.Printf("sleeping until %s (%s)", t, d)
	time.Sleep(d)
}

// Fatal prints an error and exits 1.
func Fatal(format string, args ...any) {
	log.Printf(format, args...)
	os.Exit(1)
}

// Report prints NSQ's bench result line to stderr.
func Report(d time.Duration, msgs int64, size int) {
	secs := d.Seconds()
	var usPerOp float64
	if msgs > 0 {
		usPerOp = float64(d.Microseconds()) / float64(msgs)
	}
	log.Printf("duration: %s - %.03fmb/s - %.03fops/s - %.03fus/op",
		d, float64(msgs)*float64(size)/secs/1048576, float64(msgs)/secs, usPerOp)
}

func init() {
	log.SetOutput(os.Stderr)
}
