package nsqd

import (
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/storage"
)

// queueEnv is what topics and channels need from the daemon, given to them
// at creation instead of a pointer back to it. Read-only after New.
type queueEnv struct {
	memQueueSize   int
	maxMsgTimeout  time.Duration
	maxConsumers   int
	e2eQuantiles   []float64
	e2eWindow      time.Duration
	disk           storage.DiskOptions
	log            *lg.Leveled
	topologyAware  bool
	topologyZone   string
	topologyRegion string
	nodeID         int64

	// onDiskError records a failed disk write for /ping and /stats health.
	onDiskError func(error)
	// onDiskOK clears it again after a successful write.
	onDiskOK func()
	// room accounts the disk space durable queues need; nil = unlimited
	room *diskRoom
	// maxAttempts is --max-attempts: deliveries before a message becomes
	// a dead letter, 0 = unlimited
	maxAttempts uint16
	// onDeadLetter publishes messages taken off c's queue at their attempt
	// limit; called with no lock held
	onDeadLetter func(c *Channel, msgs []*Message)
	// lm is the log engine with --storage=log, else nil
	lm *logMode
}

// lowWater is how many messages the disk pump keeps in memory ahead of the
// consumers when a channel's backlog is on disk: enough that a pump's
// batch rarely finds the queue empty and each disk read is a large one
// (a quarter of the default --mem-queue-size would be 2500; 256 records
// of 200 bytes are one 52 KB read), small enough that little memory is
// held.
func (e *queueEnv) lowWater() int {
	n := e.memQueueSize / 4
	if n < 1 {
		n = 1
	}
	if n > 256 {
		n = 256
	}
	return n
}

// spillBatch is how many messages a durable channel writes to its disk
// queue at once when its memory is full while a backlog waits on disk:
// large enough that each write(2) carries many records, small enough that
// the publisher that writes it is not held up long and that the buffers a
// write passes through stay small (256 records of 200 bytes are 58 KB; at
// 1024 the two copies, pooled record buffer and disk queue framing, cost
// httpmpub about 2 MB of peak RSS once every write was a whole batch).
func (e *queueEnv) spillBatch() int {
	return min(max(e.memQueueSize/8, 1), 256)
}
