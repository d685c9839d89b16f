package nsqd

import (
	"errors"
	"sync"
	"time"
)

// IDs are 64-bit snowflakes: 42 bits of time in 2^20 ns units since a fixed
// epoch, 10 bits of node id and a 12-bit sequence, sent as 16 hex digits.
const (
	guidEpoch     = 1288834974288
	nodeIDBits    = 10
	sequenceBits  = 12
	nodeIDShift   = sequenceBits
	timeShift     = sequenceBits + nodeIDBits
	sequenceMask  = -1 ^ (-1 << sequenceBits)
	guidTimeShift = 20 // time unit: 2^20 ns, about 1.05 ms
)

var (
	errTimeBackwards    = errors.New("time has gone backwards")
	errSequenceExpired  = errors.New("sequence expired")
	errGUIDUnavailable  = errors.New("could not generate a message ID")
	guidRetryInterval   = time.Millisecond
	guidMaxRetryElapsed = 2 * time.Second
)

// guidFactory makes unique IDs for one topic. Safe for concurrent use.
type guidFactory struct {
	mu       sync.Mutex // guards lastTime, sequence
	nodeID   int64
	lastTime int64
	sequence int64
}

func newGUIDFactory(nodeID int64) *guidFactory {
	return &guidFactory{nodeID: nodeID}
}

// nextLocked returns the next raw ID or an error the caller retries after
// a short wait.
func (f *guidFactory) nextLocked(now int64) (uint64, error) {
	ts := (now >> guidTimeShift) - guidEpoch
	if ts < f.lastTime {
		return 0, errTimeBackwards
	}
	if ts == f.lastTime {
		f.sequence = (f.sequence + 1) & sequenceMask
		if f.sequence == 0 {
			return 0, errSequenceExpired
		}
	} else {
		f.sequence = 0
	}
	f.lastTime = ts
	return uint64(ts<<timeShift | f.nodeID<<nodeIDShift | f.sequence), nil
}

// fill gives each of msgs a fresh ID, waiting about a millisecond
// whenever the sequence is exhausted or the clock stepped back.
func (f *guidFactory) fill(msgs []Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	// one clock read serves the batch until its time unit runs out of
	// sequence numbers
	start := time.Now()
	now := start.UnixNano()
	for i := range msgs {
		for {
			raw, err := f.nextLocked(now)
			if err == nil {
				encodeGUID(&msgs[i].ID, raw)
				break
			}
			if time.Since(start) > guidMaxRetryElapsed {
				return errGUIDUnavailable
			}
			time.Sleep(guidRetryInterval)
			now = time.Now().UnixNano()
		}
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// hexPairs[b] is the two lower-case hex digits of byte b.
var hexPairs = func() (t [256][2]byte) {
	for i := range t {
		t[i] = [2]byte{hexDigits[i>>4], hexDigits[i&0xf]}
	}
	return t
}()

func encodeGUID(dst *MessageID, raw uint64) {
	for i := 7; i >= 0; i-- {
		p := hexPairs[byte(raw)]
		dst[2*i], dst[2*i+1] = p[0], p[1]
		raw >>= 8
	}
}
