package nsqadmin

import (
	"math"
	"sort"
	"sync"
	"time"
)

// history keeps the cluster's recent stats in memory: a ring of samples
// taken every interval, holding for the cluster, each topic and each
// channel the queued depth, in-flight and deferred counts and the message,
// requeue and timeout rates. It is what the UI's charts and the "growing"
// flags are drawn from, so nsqadmin needs no Graphite for them. Safe for
// concurrent use.
type history struct {
	size     int           // slots in the ring
	interval time.Duration // expected time between samples

	mu       sync.RWMutex // guards everything below
	taken    int          // samples recorded so far; the next goes to slot taken % size
	times    []int64      // unix ms of each slot's sample
	series   map[seriesKey]*series
	prev     map[counterKey]counters // counters at the last good sample
	prevNode map[string]bool         // nodes that answered at the last good sample
	prevTime time.Time               // time of the last good sample (zero before the first)
}

// seriesKey names a series: the cluster ("", ""), a topic (t, "") or a
// channel (t, c).
type seriesKey struct {
	topic, channel string
}

type series struct {
	points   []point // ring, aligned with history.times
	lastSeen int     // sample number of the last sample that had this series
}

// point is one sample of one series.
type point struct {
	ok         bool    // the series was present in this sample
	depth      int64   // messages queued: channel depth; topic and cluster: topic depth + channel depths
	topicDepth int64   // topic and cluster: depth of the topics themselves
	inFlight   int64   // in flight to consumers
	deferred   int64   // deferred
	clients    int64   // connected consumers
	oldestAge  int64   // ms the oldest waiting message has waited (max over channels and nodes)
	rate       float64 // messages/s into the topic (topic, cluster) or handed to the channel; NaN if unknown
	requeue    float64 // requeues/s; NaN if unknown
	timeout    float64 // timeouts/s; NaN if unknown
}

type counterKey struct {
	node, topic, channel string
}

type counters struct {
	messages, requeues, timeouts int64
}

func newHistory(interval, duration time.Duration) *history {
	size := int(duration / interval)
	if size < 2 {
		size = 2
	}
	return &history{
		size:     size,
		interval: interval,
		times:    make([]int64, size),
		series:   map[seriesKey]*series{},
		prev:     map[counterKey]counters{},
		prevNode: map[string]bool{},
	}
}

// record adds a sample taken at now from each node's topics (as returned
// by cluster.nodeStats); answered lists the nodes that replied.
func (h *history) record(now time.Time, answered []string, nodes []*TopicStats) {
	h.mu.Lock()
	defer h.mu.Unlock()

	cur := map[counterKey]counters{}
	curNode := map[string]bool{}
	for _, a := range answered {
		curNode[a] = true
	}
	dt := now.Sub(h.prevTime).Seconds()
	known := !h.prevTime.IsZero() && dt > 0
	// delta is how much a counter grew since the last good sample; a
	// counter that shrank was reset (node restarted, topic re-created), a
	// new counter on a node seen before started at zero, and a node seen
	// for the first time tells nothing yet.
	delta := func(k counterKey, c counters) (counters, bool) {
		cur[k] = c
		if !known {
			return counters{}, false
		}
		p, ok := h.prev[k]
		if !ok {
			if h.prevNode[k.node] {
				return c, true
			}
			return counters{}, true
		}
		d := counters{c.messages - p.messages, c.requeues - p.requeues, c.timeouts - p.timeouts}
		if d.messages < 0 || d.requeues < 0 || d.timeouts < 0 {
			d = c
		}
		return d, true
	}

	type acc struct {
		point
		msgs, requeues, timeouts int64
	}
	accs := map[seriesKey]*acc{{}: {}}
	get := func(k seriesKey) *acc {
		a, ok := accs[k]
		if !ok {
			a = &acc{}
			accs[k] = a
		}
		return a
	}
	for _, t := range nodes {
		d, _ := delta(counterKey{t.Node, t.TopicName, ""}, counters{messages: t.MessageCount})
		for _, a := range []*acc{accs[seriesKey{}], get(seriesKey{t.TopicName, ""})} {
			a.depth += t.Depth
			a.topicDepth += t.Depth
			a.msgs += d.messages
		}
		for _, c := range t.Channels {
			d, _ := delta(counterKey{t.Node, t.TopicName, c.ChannelName},
				counters{c.MessageCount, c.RequeueCount, c.TimeoutCount})
			ch := get(seriesKey{t.TopicName, c.ChannelName})
			ch.msgs += d.messages
			for _, a := range []*acc{accs[seriesKey{}], get(seriesKey{t.TopicName, ""}), ch} {
				a.depth += c.Depth
				a.inFlight += c.InFlightCount
				a.deferred += c.DeferredCount
				a.clients += int64(c.ClientCount)
				a.oldestAge = max(a.oldestAge, c.lag.OldestMsgAgeMs)
				a.requeues += d.requeues
				a.timeouts += d.timeouts
			}
		}
	}

	n := h.taken
	slot := n % h.size
	h.times[slot] = now.UnixMilli()
	for k, a := range accs {
		p := a.point
		p.ok = true
		p.rate, p.requeue, p.timeout = math.NaN(), math.NaN(), math.NaN()
		if known {
			p.rate = float64(a.msgs) / dt
			p.requeue = float64(a.requeues) / dt
			p.timeout = float64(a.timeouts) / dt
		}
		s, ok := h.series[k]
		if !ok {
			s = &series{points: make([]point, h.size)}
			h.series[k] = s
		}
		s.points[slot] = p
		s.lastSeen = n
	}
	h.finishSampleLocked(n, slot)
	h.prev = cur
	h.prevNode = curNode
	h.prevTime = now
}

// recordGap adds a sample in which nothing could be seen (every upstream
// failed): every series gets a hole, and the next good sample's rates
// span the gap.
// counts returns how many samples the ring holds and how many series.
func (h *history) counts() (points, series int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return min(h.taken, h.size), len(h.series)
}

func (h *history) recordGap(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.taken
	slot := n % h.size
	h.times[slot] = now.UnixMilli()
	h.finishSampleLocked(n, slot)
}

// finishSampleLocked blanks the slot of every series absent from sample
// n and forgets series that have aged out of the ring.
func (h *history) finishSampleLocked(n, slot int) {
	for k, s := range h.series {
		if s.lastSeen == n {
			continue
		}
		s.points[slot] = point{}
		if n-s.lastSeen >= h.size && k != (seriesKey{}) {
			delete(h.series, k)
		}
	}
	h.taken = n + 1
}

// HistoryPoint is one sample of a series in GET /api/history. Rates are
// per second over the interval before the sample, null when unknown (the
// first sample, or a node that was just discovered).
type HistoryPoint struct {
	Timestamp   int64    `json:"ts"` // unix ms
	Depth       int64    `json:"depth"`
	TopicDepth  int64    `json:"topic_depth"`
	InFlight    int64    `json:"in_flight"`
	Deferred    int64    `json:"deferred"`
	Clients     int64    `json:"clients"`
	OldestAgeMs int64    `json:"oldest_msg_age_ms"` // ours: the oldest waiting message's age
	Rate        *float64 `json:"rate"`
	RequeueRate *float64 `json:"requeue_rate"`
	TimeoutRate *float64 `json:"timeout_rate"`
}

// Trend summarizes the latest state of a series.
type Trend struct {
	Rate    *float64 `json:"rate"`    // latest message rate, null if unknown
	Growing bool     `json:"growing"` // depth has been rising over the last samples
}

func optFloat(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// points returns the series' samples newer than sinceMs (unix ms), oldest
// first; samples in which the series was absent are left out.
func (h *history) points(k seriesKey, sinceMs int64) []HistoryPoint {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := []HistoryPoint{}
	s, ok := h.series[k]
	if !ok {
		return out
	}
	for _, i := range h.slotsLocked() {
		p := s.points[i]
		if !p.ok || h.times[i] <= sinceMs {
			continue
		}
		out = append(out, HistoryPoint{
			Timestamp:   h.times[i],
			Depth:       p.depth,
			TopicDepth:  p.topicDepth,
			InFlight:    p.inFlight,
			Deferred:    p.deferred,
			Clients:     p.clients,
			OldestAgeMs: p.oldestAge,
			Rate:        optFloat(p.rate),
			RequeueRate: optFloat(p.requeue),
			TimeoutRate: optFloat(p.timeout),
		})
	}
	return out
}

// slotsLocked lists the ring's filled slots, oldest first.
func (h *history) slotsLocked() []int {
	n := h.taken
	if n > h.size {
		n = h.size
	}
	out := make([]int, 0, n)
	for i := h.taken - n; i < h.taken; i++ {
		out = append(out, i%h.size)
	}
	return out
}

// growingWindow is how many recent samples the growth test looks at.
const growingWindow = 6

// trend returns the latest rate of a series and whether its depth is
// growing: over the last few samples (at least three) the depth rose more
// often than it fell and ended higher than it started.
func (h *history) trend(k seriesKey) Trend {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, ok := h.series[k]
	if !ok || s.lastSeen != h.taken-1 {
		return Trend{}
	}
	slots := h.slotsLocked()
	latest := s.points[slots[len(slots)-1]]
	t := Trend{Rate: optFloat(latest.rate)}
	var depths []int64
	for i := len(slots) - 1; i >= 0 && len(depths) < growingWindow; i-- {
		p := s.points[slots[i]]
		if !p.ok {
			break
		}
		depths = append(depths, p.depth)
	}
	if len(depths) < 3 {
		return t
	}
	ups, downs := 0, 0
	for i := 0; i+1 < len(depths); i++ { // depths is newest first
		switch {
		case depths[i] > depths[i+1]:
			ups++
		case depths[i] < depths[i+1]:
			downs++
		}
	}
	t.Growing = depths[0] > depths[len(depths)-1] && ups > downs
	return t
}

// channelTrends returns the trend of every channel of topic.
func (h *history) channelTrends(topic string) map[string]Trend {
	h.mu.RLock()
	var names []string
	for k := range h.series {
		if k.topic == topic && k.channel != "" {
			names = append(names, k.channel)
		}
	}
	h.mu.RUnlock()
	sort.Strings(names)
	out := map[string]Trend{}
	for _, c := range names {
		out[c] = h.trend(seriesKey{topic, c})
	}
	return out
}

// samples is how many samples the ring holds now.
func (h *history) samples() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return min(h.taken, h.size)
}
