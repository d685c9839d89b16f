package nsqd

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	quant "github.com/dropin/nsq/internal/quantile"
	"github.com/dropin/nsq/internal/version"
)

// statsdPrefix expands --statsd-prefix: %s becomes the broadcast
// address:http_port with "." and ":" turned into "_", and a trailing "."
// is added.
func (n *NSQD) statsdPrefix() string {
	prefix := n.opts.StatsdPrefix
	if strings.Contains(prefix, "%s") {
		host := net.JoinHostPort(n.opts.BroadcastAddress, strconv.Itoa(n.broadcastHTTPPort()))
		host = strings.NewReplacer(".", "_", ":", "_").Replace(host)
		prefix = fmt.Sprintf(prefix, host)
	}
	if prefix != "" && !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	return prefix
}

// statsdLoop pushes stats to --statsd-address every --statsd-interval:
// counters as deltas since the last push, gauges as current values.
func (n *NSQD) statsdLoop() {
	ticker := time.NewTicker(n.opts.StatsdInterval)
	defer ticker.Stop()
	last := map[string]uint64{}
	var lastGCRuns uint32
	for {
		select {
		case <-n.exitCh:
			return
		case <-ticker.C:
		}
		conn, err := net.DialTimeout("udp", n.opts.StatsdAddress, time.Second)
		if err != nil {
			n.log.Logf(lg.ERROR, "failed to create UDP socket to statsd(%s) - %s", n.opts.StatsdAddress, err)
			continue
		}
		w := &statsdWriter{conn: conn, prefix: n.statsdPrefix(), max: n.opts.StatsdUDPPacketSize}
		n.writeStatsd(w, last, &lastGCRuns)
		if err := w.flush(); err != nil {
			n.log.Logf(lg.ERROR, "statsd(%s) write failed - %s", n.opts.StatsdAddress, err)
		}
		conn.Close()
	}
}

func (n *NSQD) writeStatsd(w *statsdWriter, last map[string]uint64, lastGCRuns *uint32) {
	counter := func(key string, v uint64) {
		w.line(key, int64(v-last[key]), "c")
		last[key] = v
	}
	for _, t := range n.getStats(statsFilter{clients: false}) {
		if n.opts.StatsdExcludeEphemeral && names.IsEphemeral(t.TopicName) {
			continue
		}
		tk := "topic." + t.TopicName
		counter(tk+".message_count", t.MessageCount)
		counter(tk+".message_bytes", t.MessageBytes)
		w.line(tk+".depth", t.Depth, "g")
		w.line(tk+".backend_depth", t.BackendDepth, "g")
		for _, p := range t.E2ELatency.Percentiles {
			w.line(fmt.Sprintf("%s.e2e_processing_latency_%.0f", tk, p.Quantile*100), int64(p.Value), "g")
		}
		for _, c := range t.Channels {
			if n.opts.StatsdExcludeEphemeral && names.IsEphemeral(c.ChannelName) {
				continue
			}
			ck := tk + ".channel." + c.ChannelName
			counter(ck+".message_count", c.MessageCount)
			counter(ck+".requeue_count", c.RequeueCount)
			counter(ck+".timeout_count", c.TimeoutCount)
			w.line(ck+".depth", c.Depth, "g")
			w.line(ck+".backend_depth", c.BackendDepth, "g")
			w.line(ck+".in_flight_count", int64(c.InFlightCount), "g")
			w.line(ck+".deferred_count", int64(c.DeferredCount), "g")
			w.line(ck+".clients", int64(c.ClientCount), "g")
			for _, p := range c.E2ELatency.Percentiles {
				w.line(fmt.Sprintf("%s.e2e_processing_latency_%.0f", ck, p.Quantile*100), int64(p.Value), "g")
			}
		}
	}
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
		w.line("mem.gc_runs", int64(ms.GCTotalRuns-*lastGCRuns), "c")
		*lastGCRuns = ms.GCTotalRuns
	}
}

// statsdWriter packs statsd lines into datagrams of at most max bytes.
type statsdWriter struct {
	conn   net.Conn
	prefix string
	max    int
	buf    bytes.Buffer
	err    error
}

func (w *statsdWriter) line(key string, v int64, kind string) {
	l := fmt.Sprintf("%s%s:%d|%s", w.prefix, key, v, kind)
	if w.buf.Len() > 0 && w.buf.Len()+1+len(l) > w.max {
		w.send()
	}
	if w.buf.Len() > 0 {
		w.buf.WriteByte('\n')
	}
	w.buf.WriteString(l)
}

func (w *statsdWriter) send() {
	if w.buf.Len() == 0 {
		return
	}
	if _, err := w.conn.Write(w.buf.Bytes()); err != nil && w.err == nil {
		w.err = err
	}
	w.buf.Reset()
}

func (w *statsdWriter) flush() error {
	w.send()
	return w.err
}

// statsText renders /stats in NSQ's plain-text layout.
func (n *NSQD) statsText(s statsResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", version.String("nsqd"))
	fmt.Fprintf(&b, "start_time %s\n", time.Unix(s.StartTime, 0).UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "uptime %s\n", time.Since(n.startTime))
	fmt.Fprintf(&b, "\nHealth: %s\n", s.Health)
	if m := s.Memory; m != nil {
		b.WriteString("\nMemory:\n")
		for _, kv := range []struct {
			k string
			v uint64
		}{
			{"heap_objects", m.HeapObjects}, {"heap_idle_bytes", m.HeapIdleBytes},
			{"heap_in_use_bytes", m.HeapInUseBytes}, {"heap_released_bytes", m.HeapReleasedBytes},
			{"gc_pause_usec_100", m.GCPauseUsec100}, {"gc_pause_usec_99", m.GCPauseUsec99},
			{"gc_pause_usec_95", m.GCPauseUsec95}, {"next_gc_bytes", m.NextGCBytes},
			{"gc_total_runs", uint64(m.GCTotalRuns)},
		} {
			fmt.Fprintf(&b, "   %-25s\t%d\n", kv.k, kv.v)
		}
	}
	if len(s.Topics) == 0 {
		b.WriteString("\nTopics: None\n")
	} else {
		b.WriteString("\nTopics:")
		for _, t := range s.Topics {
			prefix := "   "
			if t.Paused {
				prefix = "*P "
			}
			fmt.Fprintf(&b, "\n%s[%-15s] depth: %-5d be-depth: %-5d msgs: %-8d e2e%%: %s\n",
				prefix, t.TopicName, t.Depth, t.BackendDepth, t.MessageCount, e2eText(t.E2ELatency.Percentiles))
			for _, c := range t.Channels {
				prefix := "      "
				if c.Paused {
					prefix = "   *P "
				}
				fmt.Fprintf(&b, "%s[%-25s] depth: %-5d be-depth: %-5d inflt: %-4d def: %-4d re-q: %-5d timeout: %-5d msgs: %-8d e2e%%: %s\n",
					prefix, c.ChannelName, c.Depth, c.BackendDepth, c.InFlightCount, c.DeferredCount,
					c.RequeueCount, c.TimeoutCount, c.MessageCount, e2eText(c.E2ELatency.Percentiles))
				for _, cl := range c.Clients {
					fmt.Fprintf(&b, "        [%s %-21s] state: %d inflt: %-4d rdy: %-4d fin: %-8d re-q: %-8d msgs: %-8d connected: %s\n",
						cl.Version, clientIdent(cl), cl.State, cl.InFlightCount, cl.ReadyCount, cl.FinishCount,
						cl.RequeueCount, cl.MessageCount, connectedFor(cl.ConnectTime))
				}
			}
		}
	}
	if len(s.Producers) == 0 {
		b.WriteString("\nProducers: None\n")
	} else {
		b.WriteString("\nProducers:\n")
		for _, p := range s.Producers {
			var total uint64
			var topics []string
			for _, pc := range p.PubCounts {
				total += pc.Count
				topics = append(topics, fmt.Sprintf("%s=%d", pc.Topic, pc.Count))
			}
			fmt.Fprintf(&b, "   [%s %-21s] msgs: %-8d topics: %s connected: %s\n",
				p.Version, clientIdent(p), total, strings.Join(topics, " "), connectedFor(p.ConnectTime))
		}
	}
	return b.String()
}

func clientIdent(c *ClientStats) string {
	_, port, _ := net.SplitHostPort(c.RemoteAddress)
	return fmt.Sprintf("%s:%s %s", c.Hostname, port, c.UserAgent)
}

func connectedFor(ts int64) string {
	return time.Since(time.Unix(ts, 0)).Truncate(time.Second).String()
}

func e2eText(ps []quant.Percentile) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		v := p.Value
		unit := "ns"
		for _, u := range []string{"us", "ms", "s"} {
			if math.Abs(v) < 1000 {
				break
			}
			v /= 1000
			unit = u
		}
		parts = append(parts, fmt.Sprintf("%0.1f%s", v, unit))
	}
	return strings.Join(parts, ", ")
}
