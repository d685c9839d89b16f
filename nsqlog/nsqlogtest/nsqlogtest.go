// Package nsqlogtest holds helpers for tests that publish into a real
// nsqd on 127.0.0.1 (started with nsqd/nsqdtest): unique topic names and
// counting what a go-nsq consumer receives. A free address for a daemon
// started later is testutil.FreeAddr. Only test code should import it.
package nsqlogtest

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
)

var topicSeq atomic.Int64

// Topic returns a topic name unique within the test binary.
func Topic(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, topicSeq.Add(1))
}

// Consumer counts the message bodies it receives from one topic.
type Consumer struct {
	c *nsq.Consumer

	mu     sync.Mutex // guards counts, total
	counts map[string]int
	total  int
}

// Consume subscribes to topic on channel "test" at addr. It reconnects
// (every 50ms) if that nsqd goes away and comes back.
func Consume(tb testing.TB, addr, topic string) *Consumer {
	tb.Helper()
	cfg := nsq.NewConfig()
	cfg.MaxInFlight = 1000
	cfg.LookupdPollInterval = 50 * time.Millisecond
	c, err := nsq.NewConsumer(topic, "test", cfg)
	if err != nil {
		tb.Fatal(err)
	}
	c.SetLogger(testutil.NewLogger(tb), nsq.LogLevelWarning)
	cons := &Consumer{c: c, counts: map[string]int{}}
	c.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		cons.mu.Lock()
		cons.counts[string(m.Body)]++
		cons.total++
		cons.mu.Unlock()
		return nil
	}))
	if err := c.ConnectToNSQD(addr); err != nil {
		tb.Fatalf("consumer connect to %s: %s", addr, err)
	}
	tb.Cleanup(func() {
		c.Stop()
		select {
		case <-c.StopChan:
		case <-time.After(10 * time.Second):
			tb.Errorf("consumer did not stop")
		}
	})
	return cons
}

// Total returns how many messages arrived, duplicates included.
func (c *Consumer) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Count returns how often body arrived.
func (c *Consumer) Count(body string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[body]
}

// Missing returns the bodies of want that have not arrived, sorted.
func (c *Consumer) Missing(want []string) []string {
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

// Duplicates returns how many extra copies arrived in total.
func (c *Consumer) Duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total - len(c.counts)
}

// Unexpected returns bodies that arrived but are not in want.
func (c *Consumer) Unexpected(want []string) []string {
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
// the test with the first missing ones after timeout.
func (c *Consumer) WaitAll(tb testing.TB, want []string, timeout time.Duration) {
	tb.Helper()
	if err := testutil.Poll(timeout, func() bool { return len(c.Missing(want)) == 0 }); err != nil {
		missing := c.Missing(want)
		if len(missing) > 5 {
			missing = missing[:5]
		}
		tb.Fatalf("%d of %d messages missing after %s, e.g. %q", len(c.Missing(want)), len(want), timeout, missing)
	}
}
