package nsqd

import (
	"fmt"
	"net"
	"strings"
	"time"

	quant "github.com/dropin/nsq/internal/quantile"
	"github.com/dropin/nsq/internal/version"
)

// statsText renders /stats in NSQ's plain-text layout.
func (n *NSQD) statsText(s statsResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", version.String("nsqd"))
	fmt.Fprintf(&b, "start_time %s\n", time.Unix(s.StartTime, 0).Format(time.RFC3339))
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
					fmt.Fprintf(&b, "        %s\n", clientLine(cl))
				}
			}
		}
	}
	if len(s.Producers) == 0 {
		b.WriteString("\nProducers: None\n")
	} else {
		b.WriteString("\nProducers:\n")
		for _, p := range s.Producers {
			fmt.Fprintf(&b, "   %s\n", clientLine(p))
		}
	}
	b.WriteString(replicationText(s.Replication))
	return b.String()
}

// clientLine describes a connection in the text stats. As in NSQ the
// layout depends on the connection, not on where it is listed: one with
// pub_counts is shown as a producer even among a channel's subscribers.
func clientLine(c *ClientStats) string {
	_, port, _ := net.SplitHostPort(c.RemoteAddress)
	id := fmt.Sprintf("%s:%s %s", c.Hostname, port, c.UserAgent)
	connected := connectedFor(c.ConnectTime)
	if len(c.PubCounts) > 0 {
		var total uint64
		topics := make([]string, 0, len(c.PubCounts))
		for _, pc := range c.PubCounts {
			total += pc.Count
			topics = append(topics, fmt.Sprintf("%s=%d", pc.Topic, pc.Count))
		}
		return fmt.Sprintf("[%s %-21s] msgs: %-8d topics: %s connected: %s",
			c.Version, id, total, strings.Join(topics, ","), connected)
	}
	return fmt.Sprintf("[%s %-21s] state: %d inflt: %-4d rdy: %-4d fin: %-8d re-q: %-8d msgs: %-8d connected: %s",
		c.Version, id, c.State, c.InFlightCount, c.ReadyCount, c.FinishCount, c.RequeueCount, c.MessageCount, connected)
}

func connectedFor(ts int64) string {
	return time.Since(time.Unix(ts, 0)).Truncate(time.Second).String()
}

// e2eText formats percentile values as NSQ does: "%0.1f" with the unit
// chosen by strict thresholds (1000ns stays "1000.0ns"), joined by ", ".
func e2eText(ps []quant.Percentile) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		v, unit := p.Value, "ns"
		switch {
		case v > 1e9:
			v, unit = v/1e9, "s"
		case v > 1e6:
			v, unit = v/1e6, "ms"
		case v > 1e3:
			v, unit = v/1e3, "us"
		}
		parts = append(parts, fmt.Sprintf("%0.1f%s", v, unit))
	}
	return strings.Join(parts, ", ")
}
