package nsqd

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	quant "github.com/dropin/nsq/internal/quantile"
)

// statsdPrefix expands --statsd-prefix: every %s becomes the broadcast
// address:http_port with "." and ":" turned into "_", and a trailing "."
// is added.
func (n *NSQD) statsdPrefix() string {
	prefix := n.opts.StatsdPrefix
	if prefix == "" {
		return ""
	}
	host := net.JoinHostPort(n.opts.BroadcastAddress, strconv.Itoa(n.broadcastHTTPPort()))
	host = strings.NewReplacer(".", "_", ":", "_").Replace(host)
	prefix = strings.ReplaceAll(prefix, "%s", host)
	if !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	return prefix
}

// statsdCounters remembers the counter values of the previous push, so
// counters go out as deltas. Only what the last push saw is kept: a topic
// or channel that disappears and comes back starts again from zero.
type statsdCounters struct {
	last   map[string]uint64
	gcRuns uint32
}

// statsdLoop pushes stats to --statsd-address every --statsd-interval:
// counters as deltas since the last push, gauges as current values.
func (n *NSQD) statsdLoop() {
	interval := n.opts.StatsdInterval
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	counters := &statsdCounters{last: map[string]uint64{}}
	for {
		select {
		case <-n.exitCh:
			return
		case <-ticker.C:
		}
		n.pushStatsd(counters, interval)
	}
}

// pushStatsd sends one round of metrics. Like NSQ it spreads the datagrams
// over the interval less a second (not at all for intervals of a second or
// less) so a statsd daemon does not get them in one burst; exit cuts the
// waits short.
func (n *NSQD) pushStatsd(counters *statsdCounters, interval time.Duration) {
	addr := n.opts.StatsdAddress
	conn, err := net.DialTimeout("udp", addr, time.Second)
	if err != nil {
		n.log.Logf(lg.ERROR, "STATSD: failed to create UDP socket to %s: %s", addr, err)
		return
	}
	defer conn.Close()
	n.log.Logf(lg.INFO, "STATSD: pushing stats to %s", addr)
	w := &statsdWriter{prefix: n.statsdPrefix(), max: n.opts.StatsdUDPPacketSize}
	n.writeStatsd(w, counters)
	packets := w.finish()
	var gap time.Duration
	if spread := interval - time.Second; spread > 0 && len(packets) > 0 {
		gap = spread / time.Duration(len(packets))
	}
	for i, p := range packets {
		if i > 0 && gap > 0 {
			select {
			case <-time.After(gap):
			case <-n.exitCh:
				gap = 0
			}
		}
		if _, err := conn.Write(p); err != nil {
			n.log.Logf(lg.ERROR, "STATSD: write to %s failed: %s", addr, err)
			return
		}
	}
}

// writeStatsd renders every metric, in NSQ's order, into w.
func (n *NSQD) writeStatsd(w *statsdWriter, counters *statsdCounters) {
	next := make(map[string]uint64, len(counters.last))
	counter := func(key string, v uint64) {
		w.line(key, int64(v-counters.last[key]), "c")
		next[key] = v
	}
	exclude := n.opts.StatsdExcludeEphemeral
	for _, t := range n.getStats(statsFilter{}) {
		if exclude && names.IsEphemeral(t.TopicName) {
			continue
		}
		tk := "topic." + t.TopicName
		counter(tk+".message_count", t.MessageCount)
		counter(tk+".message_bytes", t.MessageBytes)
		w.line(tk+".depth", t.Depth, "g")
		w.line(tk+".backend_depth", t.BackendDepth, "g")
		e2eLines(w, tk, t.E2ELatency.Percentiles)
		for _, c := range t.Channels {
			if exclude && names.IsEphemeral(c.ChannelName) {
				continue
			}
			ck := tk + ".channel." + c.ChannelName
			counter(ck+".message_count", c.MessageCount)
			w.line(ck+".depth", c.Depth, "g")
			w.line(ck+".backend_depth", c.BackendDepth, "g")
			w.line(ck+".in_flight_count", int64(c.InFlightCount), "g")
			w.line(ck+".deferred_count", int64(c.DeferredCount), "g")
			counter(ck+".requeue_count", c.RequeueCount)
			counter(ck+".timeout_count", c.TimeoutCount)
			w.line(ck+".clients", int64(c.ClientCount), "g")
			e2eLines(w, ck, c.E2ELatency.Percentiles)
		}
	}
	counters.last = next
	if n.opts.StatsdMemStats {
		ms := memStats()
		w.line("mem.heap_objects", int64(ms.HeapObjects), "g")
		w.line("mem.heap_idle_bytes", int64(ms.HeapIdleBytes), "g")
		w.line("mem.heap_in_use_bytes", int64(ms.HeapInUseBytes), "g")
		w.line("mem.heap_released_bytes", int64(ms.HeapReleasedBytes), "g")
		w.line("mem.gc_pause_usec_100", int64(ms.GCPauseUsec100), "g")
		w.line("mem.gc_pause_usec_99", int64(ms.GCPauseUsec99), "g")
		w.line("mem.gc_pause_usec_95", int64(ms.GCPauseUsec95), "g")
		w.line("mem.next_gc_bytes", int64(ms.NextGCBytes), "g")
		w.line("mem.gc_runs", int64(ms.GCTotalRuns-counters.gcRuns), "c")
		counters.gcRuns = ms.GCTotalRuns
	}
}

// e2eLines writes one gauge per percentile, named by quantile×100 ("99").
func e2eLines(w *statsdWriter, key string, ps []quant.Percentile) {
	for _, p := range ps {
		w.line(fmt.Sprintf("%s.e2e_processing_latency_%.0f", key, p.Quantile*100), int64(p.Value), "g")
	}
}

// statsdWriter packs statsd lines ("<prefix><key>:<value>|<type>\n") into
// datagrams of at most max bytes; a single line longer than max goes out
// alone.
type statsdWriter struct {
	prefix  string
	max     int
	buf     []byte
	packets [][]byte
}

func (w *statsdWriter) line(key string, v int64, kind string) {
	l := fmt.Sprintf("%s%s:%d|%s\n", w.prefix, key, v, kind)
	if len(w.buf) > 0 && len(w.buf)+len(l) > w.max {
		w.packets = append(w.packets, w.buf)
		w.buf = nil
	}
	w.buf = append(w.buf, l...)
}

// finish returns the datagrams.
func (w *statsdWriter) finish() [][]byte {
	if len(w.buf) > 0 {
		w.packets = append(w.packets, w.buf)
		w.buf = nil
	}
	return w.packets
}
