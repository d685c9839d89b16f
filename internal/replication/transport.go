package replication

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Transport carries raft messages of any number of groups between nodes.
// Send never blocks: a message that cannot be queued is dropped (raft
// retries). Implementations are safe for concurrent use.
type Transport interface {
	Send(group uint64, m *pb.Message)
}

// Handler receives a message for a group. It must not block (Node.Receive
// does not).
type Handler func(group uint64, m *pb.Message)

// MemNetwork is an in-process Transport for tests: every node registers a
// handler under its id; a message to an unregistered node is dropped.
// Messages are copied, as a network would. Safe for concurrent use.
type MemNetwork struct {
	mu       sync.Mutex // guards handlers
	handlers map[uint64]Handler
}

// NewMemNetwork returns an empty network.
func NewMemNetwork() *MemNetwork { return &MemNetwork{handlers: map[uint64]Handler{}} }

// Register makes node id reachable through h (replacing an earlier one).
func (n *MemNetwork) Register(id uint64, h Handler) {
	n.mu.Lock()
	n.handlers[id] = h
	n.mu.Unlock()
}

// Unregister makes node id unreachable (a dead or cut-off node).
func (n *MemNetwork) Unregister(id uint64) {
	n.mu.Lock()
	delete(n.handlers, id)
	n.mu.Unlock()
}

// Send implements Transport. A member id without a handler goes to its
// node's (NodeOf), as on TCPTransport.
func (n *MemNetwork) Send(group uint64, m *pb.Message) { n.deliver(group, m) }

func (n *MemNetwork) deliver(group uint64, m *pb.Message) bool {
	n.mu.Lock()
	h := n.handlers[m.GetTo()]
	if h == nil {
		h = n.handlers[NodeOf(m.GetTo())]
	}
	n.mu.Unlock()
	if h != nil {
		h(group, proto.Clone(m).(*pb.Message))
	}
	return h != nil
}

// SendSnapshot implements SnapshotTransport: done reports whether a
// handler took the message.
func (n *MemNetwork) SendSnapshot(group uint64, m *pb.Message, done func(error)) {
	if n.deliver(group, m) {
		done(nil)
	} else {
		done(errUnreachable)
	}
}

var errUnreachable = errors.New("replication: peer unreachable")

// maxFrame bounds one frame so that a damaged length cannot make a reader
// allocate gigabytes: a message carries at most MaxSizePerMsg of entries.
const maxFrame = 256 << 20

// TCPOptions configure a TCPTransport.
type TCPOptions struct {
	Listen  string            // required: host:port to listen on (port 0: any)
	Peers   map[uint64]string // node id → address to dial; may be extended with AddPeer
	Handler Handler           // required: receives every inbound message
	// QueueLen bounds the messages queued per peer (default 4096); more are
	// dropped.
	QueueLen int
	// DialTimeout (default 1s) and RedialDelay (default 100ms) shape
	// reconnecting.
	DialTimeout, RedialDelay time.Duration
	// WriteTimeout (default 5s) bounds one write to a peer: a connection
	// that cannot take data that long (a cut link, a hung peer) is closed
	// and redialled instead of holding the peer's queue.
	WriteTimeout time.Duration
	Logf         func(format string, args ...any)
}

// TCPTransport sends frames len:uint32 group:uint64 message (protobuf)
// over one outbound TCP connection per peer, dialled lazily and redialled
// after a failure, and accepts inbound connections from any peer. Safe for
// concurrent use.
type TCPTransport struct {
	opts TCPOptions
	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex // guards peers, inbound, closed
	peers   map[uint64]*tcpPeer
	inbound map[net.Conn]struct{}
	closed  bool
}

type tcpPeer struct {
	addr  string
	queue chan outFrame
}

// outFrame is an encoded frame; done, if set, learns whether it was written.
type outFrame struct {
	b    []byte
	done func(error)
}

func (f outFrame) report(err error) {
	if f.done != nil {
		f.done(err)
	}
}

// NewTCPTransport listens on o.Listen and starts accepting.
func NewTCPTransport(o TCPOptions) (*TCPTransport, error) {
	if o.Handler == nil || o.Listen == "" {
		return nil, errors.New("replication: TCPOptions.Listen and Handler are required")
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 4096
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = time.Second
	}
	if o.RedialDelay <= 0 {
		o.RedialDelay = 100 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("replication: listen %s: %w", o.Listen, err)
	}
	t := &TCPTransport{opts: o, ln: ln, done: make(chan struct{}),
		peers: map[uint64]*tcpPeer{}, inbound: map[net.Conn]struct{}{}}
	for id, addr := range o.Peers {
		t.AddPeer(id, addr)
	}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr is the address the transport listens on.
func (t *TCPTransport) Addr() string { return t.ln.Addr().String() }

// AddPeer makes node id reachable at addr (no-op if already known).
func (t *TCPTransport) AddPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.peers[id] != nil {
		return
	}
	p := &tcpPeer{addr: addr, queue: make(chan outFrame, t.opts.QueueLen)}
	t.peers[id] = p
	t.wg.Add(1)
	go t.sendLoop(p)
}

// Send implements Transport. A member id without a peer of its own goes
// to its node's address (NodeOf).
func (t *TCPTransport) Send(group uint64, m *pb.Message) { t.send(group, m, nil) }

// SendSnapshot implements SnapshotTransport: done learns whether the frame
// was written and flushed to the peer's connection.
func (t *TCPTransport) SendSnapshot(group uint64, m *pb.Message, done func(error)) {
	t.send(group, m, done)
}

func (t *TCPTransport) send(group uint64, m *pb.Message, done func(error)) {
	f := outFrame{done: done}
	t.mu.Lock()
	p := t.peers[m.GetTo()]
	if p == nil {
		p = t.peers[NodeOf(m.GetTo())]
	}
	t.mu.Unlock()
	if p == nil {
		f.report(errUnreachable)
		return
	}
	body, err := proto.Marshal(m)
	if err != nil || len(body)+8 > maxFrame {
		t.opts.Logf("replication: dropping message to %d: %d bytes, %v", m.GetTo(), len(body), err)
		f.report(fmt.Errorf("replication: message of %d bytes: %v", len(body), err))
		return
	}
	frame := make([]byte, 12, 12+len(body))
	binary.LittleEndian.PutUint32(frame, uint32(8+len(body)))
	binary.LittleEndian.PutUint64(frame[4:], group)
	f.b = append(frame, body...)
	select {
	case p.queue <- f:
	default: // full: drop, raft retries
		f.report(errUnreachable)
	}
}

func (t *TCPTransport) sendLoop(p *tcpPeer) {
	defer t.wg.Done()
	for {
		select {
		case <-t.done:
			return
		case f := <-p.queue:
			conn, err := net.DialTimeout("tcp", p.addr, t.opts.DialTimeout)
			if err != nil {
				// Drop this frame (later ones stay queued, up to
				// QueueLen) and wait before the next attempt.
				f.report(err)
				select {
				case <-t.done:
					return
				case <-time.After(t.opts.RedialDelay):
				}
				continue
			}
			t.writeLoop(conn, p, f)
			conn.Close()
		}
	}
}

// writeLoop writes frames to conn until an error or Close. Frames with a
// done callback learn their outcome after the flush that carries them.
func (t *TCPTransport) writeLoop(conn net.Conn, p *tcpPeer, first outFrame) {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-t.done:
			conn.Close()
		case <-stop:
		}
	}()
	var unflushed []outFrame // frames with a done callback
	fail := func(err error) {
		for _, f := range unflushed {
			f.report(err)
		}
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	f := first
	for {
		if f.done != nil {
			unflushed = append(unflushed, f)
		}
		conn.SetWriteDeadline(time.Now().Add(t.opts.WriteTimeout))
		if _, err := w.Write(f.b); err != nil {
			fail(err)
			return
		}
		select {
		case f = <-p.queue:
			continue
		default:
		}
		if err := w.Flush(); err != nil {
			fail(err)
			return
		}
		for _, u := range unflushed {
			u.report(nil)
		}
		unflushed = unflushed[:0]
		select {
		case <-t.done:
			return
		case f = <-p.queue:
		}
	}
}

func (t *TCPTransport) acceptLoop() {
	defer t.wg.Done()
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			return // closed
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			conn.Close()
			return
		}
		t.inbound[conn] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.readLoop(conn)
	}
}

func (t *TCPTransport) readLoop(conn net.Conn) {
	defer t.wg.Done()
	defer func() {
		conn.Close()
		t.mu.Lock()
		delete(t.inbound, conn)
		t.mu.Unlock()
	}()
	r := bufio.NewReaderSize(conn, 64<<10)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		if n < 8 || n > maxFrame {
			t.opts.Logf("replication: bad frame length %d from %s", n, conn.RemoteAddr())
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		m := &pb.Message{}
		if err := proto.Unmarshal(buf[8:], m); err != nil {
			t.opts.Logf("replication: bad message from %s: %v", conn.RemoteAddr(), err)
			return
		}
		t.opts.Handler(binary.LittleEndian.Uint64(buf), m)
	}
}

// Close stops listening, closes every connection and waits for the
// transport's goroutines. Queued messages are dropped.
func (t *TCPTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.done)
	err := t.ln.Close()
	for c := range t.inbound {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}
