package nsqd

import (
	"crypto/tls"
	"math"
	"runtime"
	"sort"
	"time"

	"github.com/beorn7/perks/quantile"

	quant "github.com/dropin/nsq/internal/quantile"
)

// TopicStats is one topic of /stats, in NSQ's key order.
type TopicStats struct {
	TopicName    string          `json:"topic_name"`
	Channels     []*ChannelStats `json:"channels"`
	Depth        int64           `json:"depth"`
	BackendDepth int64           `json:"backend_depth"`
	MessageCount uint64          `json:"message_count"`
	MessageBytes uint64          `json:"message_bytes"`
	Paused       bool            `json:"paused"`
	E2ELatency   quant.Result    `json:"e2e_processing_latency"`

	// beyond NSQ: "diskqueue" or "log" (--storage), and in log mode the
	// unix ms of the oldest message the log still holds (what replay's
	// "earliest" reaches; 0 when none)
	Storage        string `json:"storage"`
	RetainedFromMs *int64 `json:"retained_from_ms,omitempty"`
}

// ChannelStats is one channel of /stats.
type ChannelStats struct {
	ChannelName      string         `json:"channel_name"`
	Depth            int64          `json:"depth"`
	BackendDepth     int64          `json:"backend_depth"`
	InFlightCount    int            `json:"in_flight_count"`
	DeferredCount    int            `json:"deferred_count"`
	MessageCount     uint64         `json:"message_count"`
	ZoneLocalCount   uint64         `json:"zone_local_msg_count,omitempty"`
	RegionLocalCount uint64         `json:"region_local_msg_count,omitempty"`
	GlobalCount      uint64         `json:"global_msg_count,omitempty"`
	RequeueCount     uint64         `json:"requeue_count"`
	TimeoutCount     uint64         `json:"timeout_count"`
	ClientCount      int            `json:"client_count"`
	Clients          []*ClientStats `json:"clients"`
	Paused           bool           `json:"paused"`
	E2ELatency       quant.Result   `json:"e2e_processing_latency"`

	// beyond NSQ: lag and dead letters
	OldestMsgAgeMs  int64        `json:"oldest_msg_age_ms"`
	FinLatency      quant.Result `json:"fin_latency"`  // delivery to FIN, ns, since the channel was created
	MaxAttempts     uint16       `json:"max_attempts"` // in effect, 0 = unlimited
	DeadLetterTopic string       `json:"dead_letter_topic"`
	DeadLetterCount uint64       `json:"dead_letter_count"` // since start
}

// defaultLatencyQuantiles are fin_latency's quantiles when no
// --e2e-processing-latency-percentile is given.
var defaultLatencyQuantiles = []float64{0.5, 0.95, 0.99, 1}

func (n *NSQD) latencyQuantiles() []float64 {
	if q := n.opts.E2EProcessingLatencyPercentiles; len(q) > 0 {
		return q
	}
	return defaultLatencyQuantiles
}

// PubCount is one entry of a producer's pub_counts.
type PubCount struct {
	Topic string `json:"topic"`
	Count uint64 `json:"count"`
}

// ClientStats is one connection of /stats.
type ClientStats struct {
	ClientID                      string     `json:"client_id"`
	Hostname                      string     `json:"hostname"`
	Version                       string     `json:"version"`
	RemoteAddress                 string     `json:"remote_address"`
	State                         int32      `json:"state"`
	ReadyCount                    int64      `json:"ready_count"`
	InFlightCount                 int64      `json:"in_flight_count"`
	MessageCount                  uint64     `json:"message_count"`
	ZoneLocalCount                uint64     `json:"zone_local_msg_count,omitempty"`
	RegionLocalCount              uint64     `json:"region_local_msg_count,omitempty"`
	GlobalCount                   uint64     `json:"global_msg_count,omitempty"`
	FinishCount                   uint64     `json:"finish_count"`
	RequeueCount                  uint64     `json:"requeue_count"`
	ConnectTime                   int64      `json:"connect_ts"`
	SampleRate                    int32      `json:"sample_rate"`
	Deflate                       bool       `json:"deflate"`
	Snappy                        bool       `json:"snappy"`
	UserAgent                     string     `json:"user_agent"`
	Authed                        bool       `json:"authed,omitempty"`
	AuthIdentity                  string     `json:"auth_identity,omitempty"`
	AuthIdentityURL               string     `json:"auth_identity_url,omitempty"`
	TopologyZone                  string     `json:"topology_zone"`
	TopologyRegion                string     `json:"topology_region"`
	PubCounts                     []PubCount `json:"pub_counts,omitempty"`
	TLS                           bool       `json:"tls"`
	CipherSuite                   string     `json:"tls_cipher_suite"`
	TLSVersion                    string     `json:"tls_version"`
	TLSNegotiatedProtocol         string     `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool       `json:"tls_negotiated_protocol_is_mutual"`
}

// MemStats is the memory object of /stats.
type MemStats struct {
	HeapObjects       uint64 `json:"heap_objects"`
	HeapIdleBytes     uint64 `json:"heap_idle_bytes"`
	HeapInUseBytes    uint64 `json:"heap_in_use_bytes"`
	HeapReleasedBytes uint64 `json:"heap_released_bytes"`
	GCPauseUsec100    uint64 `json:"gc_pause_usec_100"`
	GCPauseUsec99     uint64 `json:"gc_pause_usec_99"`
	GCPauseUsec95     uint64 `json:"gc_pause_usec_95"`
	NextGCBytes       uint64 `json:"next_gc_bytes"`
	GCTotalRuns       uint32 `json:"gc_total_runs"`
}

// statsFilter selects what getStats collects.
type statsFilter struct {
	topic, channel string
	clients        bool
}

// getStats collects topic, channel and client stats. With a topic filter
// that matches nothing it returns nil (NSQ's "topics": null).
func (n *NSQD) getStats(f statsFilter) []*TopicStats {
	var topics []*Topic
	if f.topic != "" {
		t, err := n.GetExistingTopic(f.topic)
		if err != nil {
			return nil
		}
		topics = []*Topic{t}
	} else {
		topics = n.topicList()
	}
	out := []*TopicStats{}
	for _, t := range topics {
		var chans []*Channel
		if f.channel != "" {
			c, ok := t.getExistingChannel(f.channel)
			if !ok {
				continue
			}
			chans = []*Channel{c}
		} else {
			chans = t.Channels()
		}
		out = append(out, n.topicStats(t, chans, f))
	}
	return out
}

func (n *NSQD) topicStats(t *Topic, chans []*Channel, f statsFilter) *TopicStats {
	backend := t.backend.Depth()
	t.qmu.Lock()
	mem := int64(t.queue.len())
	t.qmu.Unlock()
	ts := &TopicStats{
		TopicName:    t.name,
		Channels:     make([]*ChannelStats, 0, len(chans)),
		Depth:        mem + backend,
		BackendDepth: backend,
		MessageCount: t.messageCount.Load(),
		MessageBytes: t.messageBytes.Load(),
		Paused:       t.IsPaused(),
		E2ELatency:   n.topicE2E(t),
		Storage:      n.opts.Storage,
	}
	if n.lm != nil && n.lm.repl == nil {
		var ms int64
		if ns, ok := n.lm.eng.RetainedFrom(t.name); ok && t.logged() {
			ms = ns / int64(time.Millisecond)
		}
		ts.RetainedFromMs = &ms
	}
	for _, c := range chans {
		ts.Channels = append(ts.Channels, n.channelStats(c, f))
	}
	return ts
}

// topicE2E merges the latency windows of all the topic's channels (even
// those a channel filter hides, as NSQ does); a topic without channels, or
// a daemon without percentiles, has none: {"count":0,"percentiles":null}.
func (n *NSQD) topicE2E(t *Topic) quant.Result {
	var samples quantile.Samples
	found := false
	for _, c := range t.Channels() {
		if c.e2e != nil {
			found = true
			samples = append(samples, c.e2e.Samples()...)
		}
	}
	if !found {
		return quant.Result{}
	}
	return quant.Merge(n.opts.E2EProcessingLatencyPercentiles, samples)
}

// channelStats describes c; with clients, each subscriber's pub_counts
// entry is picked by the topic filter, as for producers.
func (n *NSQD) channelStats(c *Channel, f statsFilter) *ChannelStats {
	backend := c.backend.Depth()
	c.mu.Lock()
	mem := int64(c.memDepthLocked())
	inFlight, deferred := len(c.inFlight), len(c.deferred)
	clients := make([]*client, 0, len(c.clients))
	for _, cl := range c.clients {
		clients = append(clients, cl)
	}
	c.mu.Unlock()
	cs := &ChannelStats{
		ChannelName:      c.name,
		Depth:            mem + backend,
		BackendDepth:     backend,
		InFlightCount:    inFlight,
		DeferredCount:    deferred,
		MessageCount:     c.messageCount.Load(),
		ZoneLocalCount:   c.zoneLocalCount.Load(),
		RegionLocalCount: c.regionLocalCount.Load(),
		GlobalCount:      c.globalCount.Load(),
		RequeueCount:     c.requeueCount.Load(),
		TimeoutCount:     c.timeoutCount.Load(),
		ClientCount:      len(clients),
		Paused:           c.IsPaused(),
		OldestMsgAgeMs:   c.oldestAge(time.Now()).Milliseconds(),
		FinLatency:       c.finLatency.result(n.latencyQuantiles()),
		MaxAttempts:      c.attemptLimit(),
		DeadLetterTopic:  c.deadLetterTopic(),
		DeadLetterCount:  c.deadCount.Load(),
	}
	if f.clients {
		cs.Clients = make([]*ClientStats, 0, len(clients))
		for _, cl := range clients {
			cs.Clients = append(cs.Clients, cl.stats(f.topic))
		}
	}
	if c.e2e != nil {
		cs.E2ELatency = quant.Merge(n.opts.E2EProcessingLatencyPercentiles, c.e2e.Samples())
	}
	return cs
}

// stats describes the client; pubTopic picks which pub_counts entry to
// show (NSQ shows at most one).
func (c *client) stats(pubTopic string) *ClientStats {
	c.mu.Lock()
	s := &ClientStats{
		ClientID:       c.clientID,
		Hostname:       c.hostname,
		Version:        "V2",
		RemoteAddress:  c.remoteAddr,
		UserAgent:      c.userAgent,
		Deflate:        c.deflate,
		Snappy:         c.snappy,
		TopologyZone:   c.topologyZone,
		TopologyRegion: c.topologyRegion,
	}
	if c.auth != nil {
		s.Authed = true
		s.AuthIdentity = c.auth.Identity
		s.AuthIdentityURL = c.auth.IdentityURL
	}
	if pubTopic != "" {
		if n, ok := c.pubCounts[pubTopic]; ok {
			s.PubCounts = []PubCount{{pubTopic, n}}
		}
	} else {
		for t, n := range c.pubCounts {
			s.PubCounts = []PubCount{{t, n}}
			break
		}
	}
	if st := c.tlsState; st != nil {
		s.TLS = true
		s.CipherSuite = tlsCipherName(st.CipherSuite)
		s.TLSVersion = tlsVersionName(st.Version)
		s.TLSNegotiatedProtocol = st.NegotiatedProtocol
		s.TLSNegotiatedProtocolIsMutual = true
	}
	c.mu.Unlock()
	s.State = c.state.Load()
	s.ReadyCount = c.rdy.Load()
	s.InFlightCount = c.inFlightCount.Load()
	s.MessageCount = c.messageCount.Load()
	s.FinishCount = c.finishCount.Load()
	s.RequeueCount = c.requeueCount.Load()
	s.ConnectTime = c.connectTS.Unix()
	s.SampleRate = c.sampleRate()
	return s
}

// producerStats lists connections that have published.
func (n *NSQD) producerStats(topic string) []*ClientStats {
	n.clientsMu.Lock()
	list := make([]*client, 0, len(n.clients))
	for _, c := range n.clients {
		list = append(list, c)
	}
	n.clientsMu.Unlock()
	var out []*ClientStats
	for _, c := range list {
		c.mu.Lock()
		published := len(c.pubCounts) > 0
		c.mu.Unlock()
		if published {
			out = append(out, c.stats(topic))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RemoteAddress < out[j].RemoteAddress })
	return out
}

// memStats reads the Go runtime's memory figures.
func memStats() MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := int(ms.NumGC)
	if n > len(ms.PauseNs) {
		n = len(ms.PauseNs)
	}
	pauses := make([]uint64, n)
	copy(pauses, ms.PauseNs[:n])
	sort.Slice(pauses, func(i, j int) bool { return pauses[i] < pauses[j] })
	return MemStats{
		HeapObjects:       ms.HeapObjects,
		HeapIdleBytes:     ms.HeapIdle,
		HeapInUseBytes:    ms.HeapInuse,
		HeapReleasedBytes: ms.HeapReleased,
		GCPauseUsec100:    pausePercentile(pauses, 100) / 1000,
		GCPauseUsec99:     pausePercentile(pauses, 99) / 1000,
		GCPauseUsec95:     pausePercentile(pauses, 95) / 1000,
		NextGCBytes:       ms.NextGC,
		GCTotalRuns:       ms.NumGC,
	}
}

// pausePercentile picks perc (0..100) from sorted values with NSQ's
// rounding: index floor(perc/100*len + 0.5), capped at the last element.
func pausePercentile(sorted []uint64, perc float64) uint64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Floor(perc/100*float64(len(sorted)) + 0.5))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func tlsCipherName(id uint16) string { return tls.CipherSuiteName(id) }

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return ""
}
