package nsqd

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"

	"github.com/dropin/nsq/internal/protocol"
)

// Client states as shown in /stats.
const (
	stateInit       = 0
	stateSubscribed = 3
	stateClosing    = 4
)

const defaultBufferSize = 16 * 1024

// client is one V2 connection. Its reader goroutine runs commands; its
// pump goroutine delivers messages and heartbeats. Both write frames under
// writeMu.
type client struct {
	id         int64
	conn       net.Conn // the raw socket
	remoteAddr string
	connectTS  time.Time

	// writeMu guards w, flushers, rawW, compressedPending and
	// writeDeadlineSet: the write side of the connection.
	writeMu  sync.Mutex
	w        *bufio.Writer
	flushers []interface{ Flush() error } // compressors under w, innermost first
	rawW     io.Writer                    // what w writes to
	// compressedPending is set when bytes have gone into a compressor
	// since its last Flush. w.Buffered() cannot tell: w hands a write
	// larger than its free space straight to the compressor, leaving
	// itself empty while the compressor still holds the frame's tail.
	compressedPending bool

	// used only by the reader goroutine
	r                  *bufio.Reader
	readDeadlineSet    time.Time
	readDeadlineHB     time.Duration
	commandsSinceRenew int
	ackWait            *pendingAck // the last command's answer waits for a commit (--sync-ack)
	acks               *ackQueue   // answers queued behind commits; nil until needed
	// outputSize is the output_buffer_size IDENTIFY settled on, as the
	// reply reports it (1 = unbuffered); w may be larger, see bufferSize
	outputSize int

	writeDeadlineSet time.Time

	// settings, written by IDENTIFY on the reader goroutine and read by the
	// pump and by channels
	heartbeatNs     atomic.Int64 // 0 = disabled
	outputTimeoutNs atomic.Int64 // 0 = no periodic flush
	msgTimeoutNs    atomic.Int64
	sampleRateV     atomic.Int32

	state         atomic.Int32
	rdy           atomic.Int64
	inFlightCount atomic.Int64
	messageCount  atomic.Uint64
	finishCount   atomic.Uint64
	requeueCount  atomic.Uint64
	sub           atomic.Pointer[Channel]

	// waiting is guarded by the lock of the channel it subscribes to.
	waiting bool

	// mu guards clientID through identified.
	mu             sync.Mutex
	clientID       string
	hostname       string
	userAgent      string
	topologyZone   string
	topologyRegion string
	deflate        bool
	snappy         bool
	tlsState       *tls.ConnectionState
	auth           *authState
	pubCounts      map[string]uint64
	identified     bool

	closeConnOnce sync.Once
	wakeCh        chan struct{} // the pump looks for work
	retuneCh      chan struct{} // IDENTIFY changed the pump's intervals
	exitCh        chan struct{} // closed when the reader goroutine ends
}

func newClient(id int64, conn net.Conn, env *clientDefaults) *client {
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	c := &client{
		id:         id,
		conn:       conn,
		remoteAddr: conn.RemoteAddr().String(),
		connectTS:  time.Now(),
		rawW:       conn,
		r:          bufio.NewReaderSize(conn, defaultBufferSize),
		clientID:   host,
		hostname:   host,
		wakeCh:     make(chan struct{}, 1),
		retuneCh:   make(chan struct{}, 1),
		exitCh:     make(chan struct{}),
	}
	c.w = bufio.NewWriterSize(conn, defaultBufferSize)
	c.outputSize = defaultBufferSize
	c.heartbeatNs.Store(int64(env.heartbeat))
	c.outputTimeoutNs.Store(int64(env.outputBufferTimeout))
	c.msgTimeoutNs.Store(int64(env.msgTimeout))
	return c
}

// clientDefaults are the per-connection settings before IDENTIFY.
type clientDefaults struct {
	heartbeat           time.Duration
	outputBufferTimeout time.Duration
	msgTimeout          time.Duration
}

func (c *client) msgTimeout() time.Duration { return time.Duration(c.msgTimeoutNs.Load()) }
func (c *client) sampleRate() int32         { return c.sampleRateV.Load() }
func (c *client) heartbeat() time.Duration  { return time.Duration(c.heartbeatNs.Load()) }

func (c *client) topology() (zone, region string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topologyZone, c.topologyRegion
}

// wake makes the pump look for work. Never blocks.
func (c *client) wake() {
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

// releaseInFlight lowers the in-flight count after FIN, REQ or a timeout
// and wakes the pump once enough slots have opened for a useful batch (an
// eighth of RDY). Slots that open below that are filled at the pump's next
// output-buffer tick, so a client with unbuffered output (timeout -1) is
// woken for every slot.
func (c *client) releaseInFlight(n int64) {
	now := c.inFlightCount.Add(-n)
	rdy := c.rdy.Load()
	slack := rdy / 8
	if slack < 1 || c.outputTimeoutNs.Load() == 0 {
		slack = 1
	}
	// wake when crossing from "fewer than slack free" to "slack free"
	if now <= rdy-slack && now+n > rdy-slack {
		c.wake()
	}
}

// resetInFlight is used when the channel is emptied.
func (c *client) resetInFlight() {
	c.inFlightCount.Store(0)
	c.wake()
}

// ready reports whether the client can take n > 0 more messages, and how
// many.
func (c *client) ready() int64 {
	if c.state.Load() != stateSubscribed {
		return 0
	}
	return c.rdy.Load() - c.inFlightCount.Load()
}

// closeConn closes the socket; the reader goroutine then cleans up.
func (c *client) closeConn() {
	c.closeConnOnce.Do(func() { c.conn.Close() })
}

// flushLocked flushes the output buffer and then the compressors, from
// the one w writes into down to the one on the socket. writeMu must be
// held.
func (c *client) flushLocked() error {
	if c.w.Buffered() == 0 && !c.compressedPending {
		return nil
	}
	c.renewWriteDeadlineLocked()
	if err := c.w.Flush(); err != nil {
		return err
	}
	if !c.compressedPending {
		return nil
	}
	for i := len(c.flushers) - 1; i >= 0; i-- {
		if err := c.flushers[i].Flush(); err != nil {
			return err
		}
	}
	c.compressedPending = false
	return nil
}

// renewWriteDeadlineLocked keeps the write deadline at least one heartbeat
// interval (a minute without heartbeats) ahead. It is called before every
// write, not only before a flush: a frame larger than the free buffer
// space, or a full compressor, reaches the socket during the write itself.
// Setting a deadline costs more than the clock read, so it is renewed only
// when an eighth of the interval has passed, and set that much further
// out. writeMu must be held.
func (c *client) renewWriteDeadlineLocked() {
	hb := c.heartbeat()
	if hb <= 0 {
		hb = time.Minute
	}
	if now := time.Now(); now.Sub(c.writeDeadlineSet) > hb/8 {
		c.conn.SetWriteDeadline(now.Add(hb + hb/8))
		c.writeDeadlineSet = now
	}
}

// compressorInput is what w writes to once a compressor is on: it notes
// that the compressor holds bytes a flush must push out.
type compressorInput struct {
	c *client
	w io.Writer
}

// Write is called with the client's writeMu held (by w).
func (in *compressorInput) Write(p []byte) (int, error) {
	in.c.compressedPending = true
	return in.w.Write(p)
}

// writeFrame writes one frame and flushes it at once (responses, errors,
// heartbeats).
func (c *client) writeFrame(frameType int32, data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.renewWriteDeadlineLocked()
	if err := protocol.WriteFrame(c.w, frameType, data); err != nil {
		return err
	}
	return c.flushLocked()
}

// refreshReadDeadline keeps the read deadline at two heartbeat intervals
// after the last command (a little more, never less). Renewing a deadline
// is costly, so it is renewed only when the reader may block (nothing
// buffered) or every 256 commands, and only after an eighth of the
// interval has passed; a changed interval applies at once. Called by the
// reader goroutine only.
func (c *client) refreshReadDeadline() {
	hb := c.heartbeat()
	if hb != c.readDeadlineHB {
		// first command, or IDENTIFY changed the interval: apply it at
		// once, even while pipelined commands are buffered
		c.readDeadlineHB = hb
		c.commandsSinceRenew = 0
		if hb <= 0 {
			c.conn.SetReadDeadline(time.Time{})
			c.readDeadlineSet = time.Time{}
			return
		}
		now := time.Now()
		c.conn.SetReadDeadline(now.Add(2*hb + hb/8))
		c.readDeadlineSet = now
		return
	}
	if hb <= 0 {
		return
	}
	c.commandsSinceRenew++
	if c.r.Buffered() > 0 && c.commandsSinceRenew < 256 {
		return
	}
	c.commandsSinceRenew = 0
	if now := time.Now(); now.Sub(c.readDeadlineSet) > hb/8 {
		c.conn.SetReadDeadline(now.Add(2*hb + hb/8))
		c.readDeadlineSet = now
	}
}

// writeFrameNoFlush writes one frame into the output buffer; the caller
// flushes later.
func (c *client) writeFrameNoFlush(frameType int32, data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.renewWriteDeadlineLocked()
	return protocol.WriteFrame(c.w, frameType, data)
}

// flush sends whatever is buffered.
func (c *client) flush() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.flushLocked()
}

// hasBufferedCommand reports whether a whole command, with its body, is
// already buffered, so running it will not block on the client.
func (c *client) hasBufferedCommand() bool {
	n := c.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := c.r.Peek(n)
	return protocol.CommandComplete(b)
}

// setOutputBuffer replaces the output buffer with one of size bytes.
func (c *client) setOutputBuffer(size int) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.flushLocked(); err != nil {
		return err
	}
	c.w = bufio.NewWriterSize(c.rawW, size)
	return nil
}

// upgradeTLS performs the server side of a TLS handshake mid-stream.
func (c *client) upgradeTLS(cfg *tls.Config) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.flushLocked(); err != nil {
		return err
	}
	tlsConn := tls.Server(c.readerConn(), cfg)
	tlsConn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tlsConn.Handshake(); err != nil {
		return err
	}
	tlsConn.SetDeadline(time.Time{})
	state := tlsConn.ConnectionState()
	c.mu.Lock()
	c.tlsState = &state
	c.mu.Unlock()
	c.r = bufio.NewReaderSize(tlsConn, defaultBufferSize)
	c.rawW = tlsConn
	c.w = bufio.NewWriterSize(tlsConn, c.w.Size())
	return nil
}

// readerConn returns the socket, reading first whatever the current reader
// has buffered so no byte is lost across an upgrade.
func (c *client) readerConn() net.Conn {
	if c.r.Buffered() == 0 {
		if tc, ok := c.rawW.(*tls.Conn); ok {
			return tc
		}
		return c.conn
	}
	base := c.conn
	if tc, ok := c.rawW.(*tls.Conn); ok {
		base = tc
	}
	return &prefixConn{Conn: base, r: c.r}
}

// prefixConn reads through a bufio.Reader that may hold bytes already
// taken off the socket.
type prefixConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// upgradeSnappy switches both directions to snappy framing.
func (c *client) upgradeSnappy() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.flushLocked(); err != nil {
		return err
	}
	src := c.readerSource()
	c.r = bufio.NewReaderSize(snappy.NewReader(src), defaultBufferSize)
	sw := snappy.NewBufferedWriter(c.rawW)
	c.rawW = &compressorInput{c: c, w: sw}
	c.w = bufio.NewWriterSize(c.rawW, c.w.Size())
	c.flushers = append(c.flushers, sw)
	c.mu.Lock()
	c.snappy = true
	c.mu.Unlock()
	return nil
}

// upgradeDeflate switches both directions to raw DEFLATE at level.
func (c *client) upgradeDeflate(level int) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.flushLocked(); err != nil {
		return err
	}
	src := c.readerSource()
	c.r = bufio.NewReaderSize(flate.NewReader(src), defaultBufferSize)
	fw, err := flate.NewWriter(c.rawW, level)
	if err != nil {
		return err
	}
	c.rawW = &compressorInput{c: c, w: fw}
	c.w = bufio.NewWriterSize(c.rawW, c.w.Size())
	c.flushers = append(c.flushers, fw)
	c.mu.Lock()
	c.deflate = true
	c.mu.Unlock()
	return nil
}

// readerSource is what a new decompressor reads from: the current reader
// if it holds buffered bytes, else the current transport.
func (c *client) readerSource() io.Reader {
	if c.r.Buffered() > 0 {
		return c.r
	}
	if tc, ok := c.rawW.(*tls.Conn); ok {
		return tc
	}
	if len(c.flushers) == 0 {
		return c.conn
	}
	return c.r
}

// countPub records a publish to topic for the producers list of /stats.
func (c *client) countPub(topic string, n uint64) {
	c.mu.Lock()
	if c.pubCounts == nil {
		c.pubCounts = make(map[string]uint64)
	}
	c.pubCounts[topic] += n
	c.mu.Unlock()
}
