package gonsqtest

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
)

// Options says where a consumer connects and how it is configured.
type Options struct {
	NSQD     []string          // nsqd TCP addresses to connect to
	Lookupds []string          // nsqlookupd HTTP addresses to discover nsqds through
	Config   func(*nsq.Config) // adjusts go-nsq's defaults (MaxInFlight 100)
}

// Collector is a go-nsq consumer that finishes every message and records
// its body. Safe for concurrent use.
type Collector struct {
	c *nsq.Consumer

	mu     sync.Mutex // guards bodies, counts
	bodies [][]byte   // in arrival order, duplicates included
	counts map[string]int

	stopOnce sync.Once
}

// Consume connects a go-nsq consumer of topic/channel as opts says and
// returns its Collector. It fails the test if go-nsq refuses the config or
// cannot connect; the consumer stops at cleanup (or at Stop).
func Consume(tb testing.TB, topic, channel string, opts Options) *Collector {
	tb.Helper()
	cfg := nsq.NewConfig()
	cfg.MaxInFlight = 100
	if opts.Config != nil {
		opts.Config(cfg)
	}
	c, err := nsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		tb.Fatalf("gonsqtest: consumer of %s/%s: %v", topic, channel, err)
	}
	c.SetLogger(testutil.NewLogger(tb), nsq.LogLevelWarning)
	col := &Collector{c: c, counts: map[string]int{}}
	c.AddHandler(col)
	tb.Cleanup(func() { col.Stop(tb) })
	if len(opts.NSQD) > 0 {
		if err := c.ConnectToNSQDs(opts.NSQD); err != nil {
			tb.Fatalf("gonsqtest: connect to nsqd %v: %v", opts.NSQD, err)
		}
	}
	if len(opts.Lookupds) > 0 {
		if err := c.ConnectToNSQLookupds(opts.Lookupds); err != nil {
			tb.Fatalf("gonsqtest: connect to nsqlookupd %v: %v", opts.Lookupds, err)
		}
	}
	return col
}

// HandleMessage implements nsq.Handler: it records the body and finishes
// the message.
func (c *Collector) HandleMessage(m *nsq.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bodies = append(c.bodies, bytes.Clone(m.Body))
	c.counts[string(m.Body)]++
	return nil
}

// Stop stops the consumer and waits (up to 30 s, then the test fails) for
// it; later calls do nothing.
func (c *Collector) Stop(tb testing.TB) {
	tb.Helper()
	c.stopOnce.Do(func() {
		c.c.Stop()
		select {
		case <-c.c.StopChan:
		case <-time.After(30 * time.Second):
			tb.Errorf("gonsqtest: consumer did not stop within 30s")
		}
	})
}

// Total returns how many messages arrived, duplicates included.
func (c *Collector) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

// Distinct returns how many different bodies arrived.
func (c *Collector) Distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.counts)
}

// Count returns how often body arrived.
func (c *Collector) Count(body string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[body]
}

// Has reports whether body arrived at least once.
func (c *Collector) Has(body string) bool { return c.Count(body) > 0 }

// Bodies returns copies of the bodies in arrival order.
func (c *Collector) Bodies() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]byte, len(c.bodies))
	for i, b := range c.bodies {
		out[i] = bytes.Clone(b)
	}
	return out
}

// Duplicates returns how many extra copies arrived in total.
func (c *Collector) Duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies) - len(c.counts)
}

// Missing returns the bodies of want that have not arrived, sorted.
func (c *Collector) Missing(want []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, w := range want {
		if c.counts[w] == 0 {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// Unexpected returns the bodies that arrived but are not in want, sorted.
func (c *Collector) Unexpected(want []string) []string {
	set := make(map[string]bool, len(want))
	for _, w := range want {
		set[w] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for body := range c.counts {
		if !set[body] {
			out = append(out, body)
		}
	}
	sort.Strings(out)
	return out
}

// WaitAll waits until every body in want arrived at least once, failing
// the test after timeout with how many are missing and the first few.
func (c *Collector) WaitAll(tb testing.TB, want []string, timeout time.Duration) {
	tb.Helper()
	if testutil.Poll(timeout, func() bool { return len(c.Missing(want)) == 0 }) == nil {
		return
	}
	missing := c.Missing(want)
	tb.Fatalf("gonsqtest: %d of %d messages missing after %s, e.g. %s", len(missing), len(want), timeout, Describe(missing, 5))
}

// WaitTotal waits until n messages (duplicates included) arrived, failing
// the test after timeout.
func (c *Collector) WaitTotal(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	if testutil.Poll(timeout, func() bool { return c.Total() >= n }) != nil {
		tb.Fatalf("gonsqtest: %d of %d messages arrived within %s", c.Total(), n, timeout)
	}
}

// Describe lists at most max of bodies for a failure message, each cut to
// 40 bytes with its length, so large or binary bodies stay readable.
func Describe(bodies []string, max int) string {
	var out []string
	for i, b := range bodies {
		if i == max {
			out = append(out, fmt.Sprintf("and %d more", len(bodies)-max))
			break
		}
		if len(b) > 40 {
			out = append(out, fmt.Sprintf("%q... (%d bytes)", b[:40], len(b)))
		} else {
			out = append(out, fmt.Sprintf("%q", b))
		}
	}
	return fmt.Sprint(out)
}
