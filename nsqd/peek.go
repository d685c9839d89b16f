package nsqd

import (
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxPeek is the most messages GET /channel/peek returns.
const MaxPeek = 100

// previewLength is how many bytes of a body a preview shows.
const previewLength = 256

// PeekedMessage is one waiting message as GET /channel/peek shows it.
type PeekedMessage struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"` // ns since the epoch
	Attempts  uint16 `json:"attempts"`
	Body      []byte `json:"body"` // base64 in JSON
	Preview   string `json:"preview"`
}

// Peek is the answer of GET /channel/peek: the first waiting messages in
// delivery order and where the rest are.
type Peek struct {
	Topic         string          `json:"topic"`
	Channel       string          `json:"channel"`
	Messages      []PeekedMessage `json:"messages"`
	Depth         int64           `json:"depth"`
	MemoryDepth   int64           `json:"memory_depth"`
	BackendDepth  int64           `json:"backend_depth"`
	InFlightCount int             `json:"in_flight_count"`
	DeferredCount int             `json:"deferred_count"`
	// Complete is false when waiting messages exist beyond those shown
	// that could not be read without consuming them (they are on disk).
	Complete bool `json:"complete"`
}

// peek copies up to n of the messages waiting in memory, in the order
// they will be delivered, without changing anything. Messages on disk
// come after the memory queue, and the tail of a backlog after them; the
// disk queue can only be read by consuming, so they are counted, not
// shown (the disk pump keeps the next few in memory), and neither is the
// tail behind them.
func (c *Channel) peek(n int) Peek {
	backend := c.backend.Depth()
	c.mu.Lock()
	mem := c.memDepthLocked()
	k := min(n, c.queue.len())
	msgs := make([]PeekedMessage, k)
	for i := 0; i < k; i++ {
		m := c.queue.at(i)
		msgs[i] = PeekedMessage{ID: string(m.ID[:]), Timestamp: m.Timestamp, Attempts: m.Attempts, Body: m.Body}
	}
	p := Peek{
		Topic: c.topicName, Channel: c.name, Messages: msgs,
		Depth: int64(mem) + backend, MemoryDepth: int64(mem), BackendDepth: backend,
		InFlightCount: len(c.inFlight), DeferredCount: len(c.deferred),
	}
	p.Complete = len(p.Messages) == n || c.onDisk == 0 && backend == 0
	c.mu.Unlock()
	for i := range p.Messages {
		p.Messages[i].Preview = preview(p.Messages[i].Body)
	}
	return p
}

// preview is a printable prefix of body: valid UTF-8 letters, marks,
// punctuation, symbols and spaces as they are, anything else as \xNN,
// cut at previewLength bytes with "…".
func preview(body []byte) string {
	cut := len(body) > previewLength
	if cut {
		body = body[:previewLength]
	}
	out := make([]byte, 0, len(body)+8)
	for len(body) > 0 {
		r, size := utf8.DecodeRune(body)
		if r == utf8.RuneError && size <= 1 || !(unicode.IsPrint(r) || r == ' ') {
			for _, b := range body[:max(size, 1)] {
				out = append(out, '\\', 'x', hexDigits[b>>4], hexDigits[b&15])
			}
		} else {
			out = append(out, body[:size]...)
		}
		body = body[max(size, 1):]
	}
	if cut {
		out = append(out, "…"...)
	}
	return string(out)
}

// oldestAge is how long the oldest message waiting for delivery has
// waited since it was published: the oldest in memory (requeued messages
// go to the back, so the whole queue and tail are looked at) and, with
// messages on disk, the one the disk pump read last, which is as old as
// any still there unless a requeue was spilled to disk. 0 when nothing
// waits.
func (c *Channel) oldestAge(now time.Time) time.Duration {
	var oldest int64
	c.mu.Lock()
	for _, q := range []*msgDeque{&c.queue, &c.tail} {
		for i := 0; i < q.len(); i++ {
			if ts := q.at(i).Timestamp; oldest == 0 || ts < oldest {
				oldest = ts
			}
		}
	}
	c.mu.Unlock()
	if c.backend.Depth() > 0 {
		if ts := c.diskReadTS.Load(); ts != 0 && (oldest == 0 || ts < oldest) {
			oldest = ts
		}
	}
	if oldest == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, oldest)), 0)
}
