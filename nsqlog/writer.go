package nsqlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqio/go-nsq"
	"go.uber.org/zap/zapcore"

	"github.com/dropin/nsq/internal/batchpub"
	"github.com/dropin/nsq/internal/names"
)

// Policy says what Write does when the buffer is full, which is what
// happens while nsqd is unreachable or slower than the writers.
type Policy int

const (
	// Block makes Write wait until there is room (or the Writer is
	// closed). No line is lost, but logging stalls while nsqd is down.
	// Writes that had to wait are counted in Stats.Blocked.
	Block Policy = iota
	// Drop makes Write discard the line and return at once. Logging never
	// stalls; lost lines are counted in Stats.Dropped.
	Drop
)

// String returns "block" or "drop".
func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy accepts "block" or "drop".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "block":
		return Block, nil
	case "drop":
		return Drop, nil
	}
	return 0, fmt.Errorf("invalid policy %q (want block or drop)", s)
}

// Errors returned by a Writer.
var (
	// ErrClosed is returned by Write after Close.
	ErrClosed = errors.New("nsqlog: writer closed")
	// ErrSyncTimeout is returned by Sync when buffered lines were not all
	// acknowledged by nsqd within Options.SyncTimeout.
	ErrSyncTimeout = errors.New("nsqlog: sync timed out")
	// ErrUndelivered is returned by Close when lines were still buffered
	// at Options.CloseTimeout; they are counted in Stats.Dropped.
	ErrUndelivered = errors.New("nsqlog: lines not delivered before close")
)

// Options configures a Writer. Zero fields take the defaults named in
// their comments.
type Options struct {
	NSQDTCPAddresses []string // required; several = failover, in order
	Topic            string   // required
	Policy           Policy   // what Write does when the buffer is full (Block)

	BatchSize        int           // lines per MPUB (100)
	BatchBytes       int           // message bytes per MPUB, kept under nsqd's --max-body-size (4 MiB)
	BatchTimeout     time.Duration // longest a line waits for its batch to fill (50ms)
	MaxBufferedLines int           // lines buffered or in flight (10000)
	MaxBufferedBytes int           // bytes buffered or in flight (8 MiB)
	RetryBackoff     time.Duration // first wait after every nsqd failed (100ms), doubling
	MaxRetryBackoff  time.Duration // cap of that wait (5s)
	SyncTimeout      time.Duration // longest Sync waits for acknowledgements (5s)
	CloseTimeout     time.Duration // longest Close tries to deliver what is buffered (5s)

	// NSQConfig configures the go-nsq producers (nil: go-nsq defaults with
	// user_agent "nsqlog go-nsq/1.1.0").
	NSQConfig *nsq.Config
	// Logger receives the Writer's own diagnostics, never log lines
	// (nil: stderr with prefix "nsqlog: ").
	Logger Logger
}

func (o *Options) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.BatchSize, 100)
	def(&o.BatchBytes, 4<<20)
	def(&o.MaxBufferedLines, 10000)
	def(&o.MaxBufferedBytes, 8<<20)
	defDur(&o.BatchTimeout, 50*time.Millisecond)
	defDur(&o.RetryBackoff, 100*time.Millisecond)
	defDur(&o.MaxRetryBackoff, 5*time.Second)
	defDur(&o.SyncTimeout, 5*time.Second)
	defDur(&o.CloseTimeout, 5*time.Second)
	if o.NSQConfig == nil {
		o.NSQConfig = nsq.NewConfig()
		o.NSQConfig.UserAgent = "nsqlog go-nsq/" + nsq.VERSION
	}
	if o.Logger == nil {
		o.Logger = log.New(os.Stderr, "nsqlog: ", log.LstdFlags)
	}
}

// Stats are a Writer's counters since New.
type Stats struct {
	Written   int64 // lines accepted into the buffer
	Delivered int64 // lines nsqd acknowledged
	Dropped   int64 // lines lost: buffer full under Drop, Write after Close, undelivered at Close
	Rejected  int64 // lines nsqd refused (E_BAD_MESSAGE, e.g. over --max-msg-size)
	Blocked   int64 // Writes that waited for room under Block
	Retries   int64 // failed MPUB attempts that were retried
	Buffered  int64 // lines buffered or in flight now
}

// Writer batches log lines into MPUBs to nsqd. Each Write call is one
// message (one trailing newline is removed; an empty line is skipped), so
// it fits zap and the standard log package, which write one entry per
// call. It implements io.Writer and zapcore.WriteSyncer and is safe for
// concurrent use.
type Writer struct {
	opts    Options
	pub     *batchpub.Publisher
	batches batchpub.Source[lineBatch] // the flusher's view of buf

	mu      sync.Mutex    // guards the fields up to the next blank line
	buf     [][]byte      // lines not yet taken by the flusher
	pending int           // lines in buf or in flight
	pendBig int           // bytes in buf or in flight
	written uint64        // sequence number of the last accepted line
	done    uint64        // every line with a sequence number <= done is delivered or lost
	urgent  uint64        // Sync/Close want lines up to this number sent without waiting
	closed  bool          // Close was called
	roomCh  chan struct{} // closed (and replaced) when room frees up or on Close
	doneCh  chan struct{} // closed (and replaced) when done advances

	kick    chan struct{} // wakes the flusher; capacity 1
	ctx     context.Context
	cancel  context.CancelFunc // aborts delivery at CloseTimeout
	flushed chan struct{}      // closed when the flusher has returned
	once    sync.Once          // guards Close

	written64, delivered, dropped, rejected, blocked, retries atomic.Int64
	lostAtClose                                               atomic.Int64 // in-flight lines abandoned by Close
}

var _ zapcore.WriteSyncer = (*Writer)(nil)

// New validates opts, applies defaults and starts the Writer's flusher.
// It does not connect: the first batch does, and failures are retried.
func New(opts Options) (*Writer, error) {
	if len(opts.NSQDTCPAddresses) == 0 {
		return nil, fmt.Errorf("nsqlog: %w", ErrNoAddress)
	}
	if !names.IsValidTopicName(opts.Topic) {
		return nil, fmt.Errorf("nsqlog: invalid topic name %q", opts.Topic)
	}
	if opts.Policy != Block && opts.Policy != Drop {
		return nil, fmt.Errorf("nsqlog: invalid policy %v", opts.Policy)
	}
	opts.setDefaults()
	pub, err := batchpub.New(opts.NSQDTCPAddresses, opts.NSQConfig, opts.Logger, nsq.LogLevelWarning)
	if err != nil {
		return nil, fmt.Errorf("nsqlog: %w", err)
	}
	w := &Writer{
		opts:    opts,
		pub:     pub,
		roomCh:  make(chan struct{}),
		doneCh:  make(chan struct{}),
		kick:    make(chan struct{}, 1),
		flushed: make(chan struct{}),
	}
	w.batches = batchpub.Source[lineBatch]{
		Size:    opts.BatchSize,
		Timeout: opts.BatchTimeout,
		Wake:    w.kick,
		State:   w.bufState,
		Take:    w.take,
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.flusher()
	return w, nil
}

// Write queues p (minus one trailing newline) as one message. Under Block
// it waits while the buffer is full; under Drop it discards the line then.
// It returns ErrClosed after Close.
func (w *Writer) Write(p []byte) (int, error) {
	line := bytes.TrimSuffix(p, []byte{'\n'})
	if len(line) == 0 {
		return len(p), nil
	}
	w.mu.Lock()
	waited := false
	for {
		if w.closed {
			w.mu.Unlock()
			w.dropped.Add(1)
			return 0, ErrClosed
		}
		if !w.fullLocked(len(line)) {
			break
		}
		if w.opts.Policy == Drop {
			w.mu.Unlock()
			w.dropped.Add(1)
			return len(p), nil
		}
		if !waited {
			waited = true
			w.blocked.Add(1)
		}
		ch := w.roomCh
		w.mu.Unlock()
		<-ch
		w.mu.Lock()
	}
	w.buf = append(w.buf, bytes.Clone(line))
	w.pending++
	w.pendBig += len(line)
	w.written++
	w.mu.Unlock()
	w.written64.Add(1)
	w.wake()
	return len(p), nil
}

// fullLocked reports whether a line of n bytes must wait. One line is
// always let in when nothing is pending, however big.
func (w *Writer) fullLocked(n int) bool {
	if w.pending == 0 {
		return false
	}
	return w.pending >= w.opts.MaxBufferedLines || w.pendBig+n > w.opts.MaxBufferedBytes
}

func (w *Writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Sync waits until every line written before the call was acknowledged by
// nsqd (or lost and counted), or Options.SyncTimeout passed, in which case
// it returns ErrSyncTimeout.
func (w *Writer) Sync() error {
	return w.waitDone(w.opts.SyncTimeout)
}

func (w *Writer) waitDone(timeout time.Duration) error {
	w.mu.Lock()
	target := w.written
	if target > w.urgent {
		w.urgent = target
	}
	w.mu.Unlock()
	w.wake()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		w.mu.Lock()
		done, ch := w.done, w.doneCh
		w.mu.Unlock()
		if done >= target {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			return fmt.Errorf("%w: %d lines unacknowledged after %s", ErrSyncTimeout, target-done, timeout)
		}
	}
}

// Close stops accepting lines, tries for up to Options.CloseTimeout to
// deliver what is buffered, then drops the rest (counted) and disconnects.
// Writers blocked in Write return ErrClosed. It returns ErrUndelivered if
// lines were dropped at close. Calling it again returns nil.
func (w *Writer) Close() error {
	var err error
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.roomCh)
		w.roomCh = make(chan struct{})
		w.mu.Unlock()
		if werr := w.waitDone(w.opts.CloseTimeout); werr != nil {
			w.opts.Logger.Output(2, fmt.Sprintf("closing: %s; giving up on them", werr))
		}
		w.cancel()
		w.pub.Stop()
		<-w.flushed
		w.mu.Lock()
		lost := len(w.buf)
		w.buf = nil
		w.pending -= lost
		w.mu.Unlock()
		if lost > 0 {
			w.dropped.Add(int64(lost))
		}
		if lost > 0 || w.lostAtClose.Load() > 0 {
			err = fmt.Errorf("%w: %d lines", ErrUndelivered, int64(lost)+w.lostAtClose.Load())
		}
	})
	return err
}

// Stats returns a snapshot of the counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	buffered := int64(w.pending)
	w.mu.Unlock()
	return Stats{
		Written:   w.written64.Load(),
		Delivered: w.delivered.Load(),
		Dropped:   w.dropped.Load(),
		Rejected:  w.rejected.Load(),
		Blocked:   w.blocked.Load(),
		Retries:   w.retries.Load(),
		Buffered:  buffered,
	}
}
