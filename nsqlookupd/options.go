package nsqlookupd

import (
	"fmt"
	"os"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// Options configures an NSQLookupd. NewOptions returns NSQ's defaults; the
// nsqlookupd app overlays the command line and config file (see
// internal/cfg). Fields with a flag tag are options an operator can set.
// An Options value must not be changed once it has been passed to New.
type Options struct {
	LogLevel  lg.Level `flag:"log-level"`
	LogPrefix string   `flag:"log-prefix"`
	// Logger receives every log line; nil means stderr with LogPrefix.
	Logger lg.Logger

	TCPAddress       string `flag:"tcp-address"`
	HTTPAddress      string `flag:"http-address"`
	BroadcastAddress string `flag:"broadcast-address"`

	// InactiveProducerTimeout hides a producer from /lookup and /nodes
	// when its last IDENTIFY or PING is older than this.
	InactiveProducerTimeout time.Duration `flag:"inactive-producer-timeout"`
	// TombstoneLifetime is how long /topic/tombstone hides a producer.
	TombstoneLifetime time.Duration `flag:"tombstone-lifetime"`
	// MetricsExcludeEphemeral leaves #ephemeral topics and channels out of
	// the per-topic series of GET /metrics. Beyond NSQ.
	MetricsExcludeEphemeral bool `flag:"metrics-exclude-ephemeral"`
}

// NewOptions returns NSQ v1.3.0's defaults; the broadcast address is the
// OS hostname.
func NewOptions() *Options {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "localhost"
	}
	return &Options{
		LogLevel:  lg.INFO,
		LogPrefix: "[nsqlookupd] ",

		TCPAddress:       "0.0.0.0:4160",
		HTTPAddress:      "0.0.0.0:4161",
		BroadcastAddress: hostname,

		InactiveProducerTimeout: 300 * time.Second,
		TombstoneLifetime:       45 * time.Second,
	}
}

// validate checks option values, with messages that name the flag.
// NSQ itself accepts nonsensical durations; a zero or negative inactivity
// timeout would hide every producer, so we refuse it instead.
func (o *Options) validate() error {
	switch {
	case o.LogLevel < lg.DEBUG || o.LogLevel > lg.FATAL:
		return fmt.Errorf("--log-level %d is not a valid level (want debug, info, warn, error or fatal)", int32(o.LogLevel))
	case o.InactiveProducerTimeout <= 0:
		return fmt.Errorf("--inactive-producer-timeout must be > 0 (got %s)", o.InactiveProducerTimeout)
	case o.TombstoneLifetime < 0:
		return fmt.Errorf("--tombstone-lifetime must be >= 0 (got %s)", o.TombstoneLifetime)
	}
	return nil
}
