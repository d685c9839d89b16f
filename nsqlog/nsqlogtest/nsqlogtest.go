package nsqlogtest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil/gonsqtest"
)

var topicSeq atomic.Int64

// Topic returns a topic name unique within the test binary.
func Topic(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, topicSeq.Add(1))
}

// Consume subscribes to topic on channel "test" at addr with up to 1000
// messages in flight. It reconnects (every 50ms) if that nsqd goes away
// and comes back.
func Consume(tb testing.TB, addr, topic string) *gonsqtest.Collector {
	tb.Helper()
	return gonsqtest.Consume(tb, topic, "test", gonsqtest.Options{NSQD: []string{addr}, Config: func(c *nsq.Config) {
		c.MaxInFlight = 1000
		c.LookupdPollInterval = 50 * time.Millisecond
	}})
}
