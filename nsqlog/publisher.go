package nsqlog

import (
	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/batchpub"
)

// The failover MPUB sender underneath a Writer stays available here for
// programs that batch their own messages; it is internal/batchpub's.

// Logger is where the package writes its own diagnostics. *log.Logger
// satisfies it.
type Logger = batchpub.Logger

// Publisher sends MPUB batches to one of several nsqd, moving to the next
// address after a failure (see NewPublisher). Publish and PublishRetry
// must be called from one goroutine at a time; Stop may be called
// concurrently with them and makes them return.
type Publisher = batchpub.Publisher

// Retry controls Publisher.PublishRetry.
type Retry = batchpub.Retry

// Errors of a Publisher.
var (
	// ErrStopped is returned by PublishRetry after Stop.
	ErrStopped = batchpub.ErrStopped
	// ErrNoAddress is returned by NewPublisher (and New) when no nsqd
	// address is given.
	ErrNoAddress = batchpub.ErrNoAddress
)

// NewPublisher returns a Publisher for addrs. config is used as given
// (nil means go-nsq's defaults); logger may be nil.
func NewPublisher(addrs []string, config *nsq.Config, logger Logger, level nsq.LogLevel) (*Publisher, error) {
	return batchpub.New(addrs, config, logger, level)
}

// IsRejected reports whether err is nsqd refusing the content of a PUB or
// MPUB (E_BAD_MESSAGE, E_BAD_BODY, E_BAD_TOPIC) rather than a transport or
// transient failure.
func IsRejected(err error) bool { return batchpub.IsRejected(err) }
