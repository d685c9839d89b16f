package refdiff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// frame is one reply read from a daemon's TCP connection: nsqd's V2 frames
// have a type (0 response, 1 error, 2 message); nsqlookupd's have none (-1).
type frame struct {
	typ  int32
	data []byte
}

func (f frame) String() string {
	switch f.typ {
	case 2:
		return "message"
	case -1:
		return fmt.Sprintf("%q", f.data)
	case -2:
		return "raw" // a compressed stream's bytes depend on flush timing
	}
	return fmt.Sprintf("%d:%q", f.typ, f.data)
}

// conn is a raw protocol connection.
type conn struct {
	c      net.Conn
	r      *bufio.Reader
	typed  bool
	frames []frame
	closed bool
	lastID []byte
}

func dialRaw(t *testing.T, addr string, magic string, typed bool) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if magic != "" {
		if _, err := c.Write([]byte(magic)); err != nil {
			t.Fatal(err)
		}
	}
	return &conn{c: c, r: bufio.NewReader(c), typed: typed}
}

func (c *conn) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := c.c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readFrame reads one frame, skipping heartbeats; ok is false at EOF.
func (c *conn) readFrame(t *testing.T) (frame, bool) {
	t.Helper()
	for {
		c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var size int32
		if err := binary.Read(c.r, binary.BigEndian, &size); err != nil {
			if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset") {
				c.closed = true
				return frame{}, false
			}
			t.Fatalf("read frame size: %v", err)
		}
		if size < 0 || size > 1<<20 {
			// not a frame (a compressed stream, or text): keep the bytes
			rest, _ := io.ReadAll(io.LimitReader(c.r, 4096))
			c.closed = true
			return frame{typ: -2, data: append(binary.BigEndian.AppendUint32(nil, uint32(size)), rest...)}, true
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			// cut short: not a frame either (see above)
			c.closed = true
			return frame{typ: -2}, true
		}
		f := frame{typ: -1, data: buf}
		if c.typed {
			f.typ = int32(binary.BigEndian.Uint32(buf))
			f.data = buf[4:]
		}
		if f.typ == 0 && string(f.data) == "_heartbeat_" {
			c.send(t, []byte("NOP\n"))
			continue
		}
		if f.typ == 2 && len(f.data) >= 26 {
			c.lastID = append([]byte(nil), f.data[10:26]...)
		}
		return f, true
	}
}

// awaitMessage reads frames until a message frame arrives.
func (c *conn) awaitMessage(t *testing.T) {
	t.Helper()
	for {
		f, ok := c.readFrame(t)
		if !ok {
			t.Fatalf("connection closed while waiting for a message; frames %v", c.frames)
		}
		c.frames = append(c.frames, f)
		if f.typ == 2 {
			return
		}
	}
}

// finish half-closes the connection and reads every remaining reply: both
// daemons answer each command before reading the next, so at our EOF they
// have sent all there is and close.
func (c *conn) finish(t *testing.T) {
	t.Helper()
	if tc, ok := c.c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	for {
		f, ok := c.readFrame(t)
		if !ok {
			return
		}
		c.frames = append(c.frames, f)
		if f.typ == -2 {
			return
		}
	}
}

// step is one write of a TCP conversation. {ID} in data is replaced by the
// ID of the last message received; await waits for a message afterwards.
type step struct {
	data  []byte
	await bool
}

func line(s string) step { return step{data: []byte(s + "\n")} }

func withBody(cmd string, body []byte) step {
	b := []byte(cmd + "\n")
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return step{data: append(b, body...)}
}

func raw(b []byte) step { return step{data: b} }

func await() step { return step{await: true} }

// mpubBody frames bodies as MPUB's message list.
func mpubBody(bodies ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(bodies)))
	for _, m := range bodies {
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	return b
}

// conversation runs steps on a fresh connection and returns its frames.
func conversation(t *testing.T, addr, magic string, typed bool, steps []step) *conn {
	t.Helper()
	c := dialRaw(t, addr, magic, typed)
	for _, s := range steps {
		if s.await {
			c.awaitMessage(t)
			continue
		}
		c.send(t, bytes.ReplaceAll(s.data, []byte("{ID}"), c.lastID))
	}
	c.finish(t)
	return c
}

// tcpCase is a named conversation.
type tcpCase struct {
	name  string
	steps []step
}

// tcpPair runs each conversation on both sides and compares the frames.
func tcpPair(t *testing.T, c *comparer, ref, our, magic string, typed bool, cases []tcpCase) {
	t.Helper()
	var diffs []string
	for _, tc := range cases {
		rc := conversation(t, ref, magic, typed, tc.steps)
		oc := conversation(t, our, magic, typed, tc.steps)
		rs, ours := framesText(c.ref.Replace, rc.frames), framesText(c.our.Replace, oc.frames)
		if os.Getenv("REFDIFF_DUMP") != "" {
			t.Logf("%s: ref %s", tc.name, rs)
		}
		if rs != ours {
			diffs = append(diffs, fmt.Sprintf("%s: ref %s our %s", tc.name, rs, ours))
		}
	}
	report(t, diffs)
}

func framesText(norm func(string) string, fs []frame) string {
	var parts []string
	msgID := regexp.MustCompile(`\b[0-9a-f]{16}\b`)
	for _, f := range fs {
		parts = append(parts, msgID.ReplaceAllString(norm(f.String()), "<id>"))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
