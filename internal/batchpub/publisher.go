package batchpub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nsqio/go-nsq"
)

// Logger is where the package writes its own diagnostics. *log.Logger
// satisfies it.
type Logger interface {
	Output(calldepth int, s string) error
}

// ErrStopped is returned by PublishRetry after Stop.
var ErrStopped = errors.New("publisher stopped")

// ErrNoAddress is returned by New when no nsqd address is given.
var ErrNoAddress = errors.New("no nsqd TCP address")

// rejectCodes are the nsqd replies that say the batch itself is bad, so
// sending it again unchanged can never succeed.
var rejectCodes = []string{"E_BAD_MESSAGE", "E_BAD_BODY", "E_BAD_TOPIC"}

// IsRejected reports whether err is nsqd refusing the content of a PUB or
// MPUB (E_BAD_MESSAGE, E_BAD_BODY, E_BAD_TOPIC) rather than a transport or
// transient failure. Rejected batches are split; a single rejected message
// can never be delivered.
func IsRejected(err error) bool {
	var pe nsq.ErrProtocol
	if !errors.As(err, &pe) {
		return false
	}
	for _, code := range rejectCodes {
		if strings.HasPrefix(pe.Reason, code) {
			return true
		}
	}
	return false
}

// Publisher sends MPUB batches to one of several nsqd, moving to the next
// address after a failure. It keeps one go-nsq Producer per address. A
// producer that failed is replaced by a fresh one rather than reused:
// go-nsq v1.1.0's Producer races with itself (its old router goroutine
// still reads the connection while the reconnect writes it) when it
// reconnects after a broken connection.
//
// Publish and PublishRetry must be called from one goroutine at a time;
// Stop may be called concurrently with them and makes them return.
type Publisher struct {
	addrs    []string
	config   *nsq.Config
	logger   Logger
	level    nsq.LogLevel
	stopped  chan struct{} // closed by Stop
	stopOnce sync.Once

	mu        sync.Mutex // guards producers, isStopped
	producers []*nsq.Producer
	isStopped bool

	cur int // index of the address to use next; owned by the publishing goroutine
}

// New returns a Publisher for addrs. config is used as given (nil means
// go-nsq's defaults); logger may be nil.
func New(addrs []string, config *nsq.Config, logger Logger, level nsq.LogLevel) (*Publisher, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddress
	}
	if config == nil {
		config = nsq.NewConfig()
	}
	p := &Publisher{
		addrs:   append([]string(nil), addrs...),
		config:  config,
		logger:  logger,
		level:   level,
		stopped: make(chan struct{}),
	}
	for _, addr := range p.addrs {
		prod, err := p.newProducer(addr)
		if err != nil {
			p.Stop()
			return nil, err
		}
		p.producers = append(p.producers, prod)
	}
	return p, nil
}

func (p *Publisher) newProducer(addr string) (*nsq.Producer, error) {
	prod, err := nsq.NewProducer(addr, p.config)
	if err != nil {
		return nil, fmt.Errorf("producer for %s: %w", addr, err)
	}
	if p.logger != nil {
		prod.SetLogger(p.logger, p.level)
	} else {
		prod.SetLogger(nil, nsq.LogLevelMax)
	}
	return prod, nil
}

// Addr returns the address the next Publish will use.
func (p *Publisher) Addr() string { return p.addrs[p.cur] }

// Publish sends bodies as one MPUB to the current address and waits for
// nsqd's answer. On failure the next call uses the next address.
func (p *Publisher) Publish(topic string, bodies [][]byte) error {
	i := p.cur
	p.mu.Lock()
	prod := p.producers[i]
	p.mu.Unlock()
	err := prod.MultiPublish(topic, bodies)
	if err == nil {
		return nil
	}
	p.cur = (i + 1) % len(p.addrs)
	p.replace(i, prod)
	return fmt.Errorf("MPUB %d messages to %s: %w", len(bodies), p.addrs[i], err)
}

// replace swaps the failed producer at index i for a fresh one.
func (p *Publisher) replace(i int, failed *nsq.Producer) {
	fresh, err := p.newProducer(p.addrs[i])
	if err != nil { // the config was valid a moment ago; keep the old one
		return
	}
	p.mu.Lock()
	if p.isStopped || p.producers[i] != failed {
		p.mu.Unlock()
		fresh.Stop()
		return
	}
	p.producers[i] = fresh
	p.mu.Unlock()
	failed.Stop()
}

// Stop closes every connection; a Publish in progress fails. Safe to call
// more than once and concurrently with Publish.
func (p *Publisher) Stop() {
	p.stopOnce.Do(func() {
		close(p.stopped)
		p.mu.Lock()
		p.isStopped = true
		prods := append([]*nsq.Producer(nil), p.producers...)
		p.mu.Unlock()
		for _, prod := range prods {
			prod.Stop()
		}
	})
}

// Retry controls PublishRetry.
type Retry struct {
	Backoff    time.Duration // wait after every address failed once; doubles per round
	MaxBackoff time.Duration // cap of the doubling

	// OnError is called after each failed attempt that will be retried,
	// with the number of bodies in the attempt (each a possible duplicate
	// when it is sent again). May be nil.
	OnError func(err error, bodies int)
	// OnRejected is called for a single body that nsqd refused (see
	// IsRejected); the body is given up. index is its position in the
	// bodies passed to PublishRetry. May be nil.
	OnRejected func(index int, err error)
}

// PublishRetry delivers bodies in order, retrying with backoff and
// failover until nsqd accepts them or ctx ends. A batch nsqd rejects is
// split in halves; a single rejected body is reported to OnRejected and
// skipped. It returns how many leading bodies are done (accepted or
// rejected) and ctx's error (or ErrStopped) if it gave up before all were.
func (p *Publisher) PublishRetry(ctx context.Context, topic string, bodies [][]byte, r Retry) (int, error) {
	return p.publishRange(ctx, topic, bodies, 0, r)
}

func (p *Publisher) publishRange(ctx context.Context, topic string, bodies [][]byte, base int, r Retry) (int, error) {
	wait := r.Backoff
	failedInRound := 0
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		select {
		case <-p.stopped:
			return 0, ErrStopped
		default:
		}
		err := p.Publish(topic, bodies)
		if err == nil {
			return len(bodies), nil
		}
		if IsRejected(err) {
			if len(bodies) == 1 {
				if r.OnRejected != nil {
					r.OnRejected(base, err)
				}
				return 1, nil
			}
			half := len(bodies) / 2
			n, err := p.publishRange(ctx, topic, bodies[:half], base, r)
			if err != nil {
				return n, err
			}
			m, err := p.publishRange(ctx, topic, bodies[half:], base+half, r)
			return n + m, err
		}
		if r.OnError != nil {
			r.OnError(err, len(bodies))
		}
		failedInRound++
		if failedInRound < len(p.addrs) {
			continue // fail over at once; back off only after a full round
		}
		failedInRound = 0
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-p.stopped:
			t.Stop()
			return 0, ErrStopped
		case <-t.C:
		}
		wait *= 2
		if wait > r.MaxBackoff {
			wait = r.MaxBackoff
		}
		if wait <= 0 {
			wait = time.Millisecond
		}
	}
}
