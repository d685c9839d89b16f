package nsqadmin

import (
	"math"
	"sort"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
)

// nodeTopicStats converts one nsqd's topic into what /api serves. When
// channel is set, only that channel is kept.
func nodeTopicStats(p *Producer, t *clusterinfo.TopicStats, channel string, now time.Time) *TopicStats {
	node := p.HTTPAddress()
	ts := &TopicStats{
		Node:                node,
		Hostname:            p.Hostname,
		TopicName:           t.TopicName,
		Depth:               t.Depth,
		MemoryDepth:         t.Depth - t.BackendDepth,
		BackendDepth:        t.BackendDepth,
		MessageCount:        t.MessageCount,
		ZoneLocalMsgCount:   t.ZoneLocalMsgCount,
		RegionLocalMsgCount: t.RegionLocalMsgCount,
		GlobalMsgCount:      t.GlobalMsgCount,
		DeliveryMsgCount:    t.ZoneLocalMsgCount + t.RegionLocalMsgCount + t.GlobalMsgCount,
		Paused:              t.Paused,
		E2E:                 nodeE2E(&t.E2E),
		replay:              TopicReplay{Node: node, Storage: t.Storage, RetainedFromMs: t.RetainedFromMs},
	}
	if t.Channels != nil { // nsqd sends [] for none, and NSQ passes it on
		ts.Channels = make([]*ChannelStats, 0, len(t.Channels))
	}
	for _, c := range t.Channels {
		if c == nil || (channel != "" && c.ChannelName != channel) {
			continue
		}
		ts.Channels = append(ts.Channels, nodeChannelStats(p, t.TopicName, c, now))
	}
	return ts
}

func nodeChannelStats(p *Producer, topic string, c *clusterinfo.ChannelStats, now time.Time) *ChannelStats {
	node := p.HTTPAddress()
	cs := &ChannelStats{
		Node:                node,
		Hostname:            p.Hostname,
		TopicName:           topic,
		ChannelName:         c.ChannelName,
		Depth:               c.Depth,
		MemoryDepth:         c.Depth - c.BackendDepth,
		BackendDepth:        c.BackendDepth,
		InFlightCount:       c.InFlightCount,
		DeferredCount:       c.DeferredCount,
		RequeueCount:        c.RequeueCount,
		TimeoutCount:        c.TimeoutCount,
		MessageCount:        c.MessageCount,
		ZoneLocalMsgCount:   c.ZoneLocalMsgCount,
		RegionLocalMsgCount: c.RegionLocalMsgCount,
		GlobalMsgCount:      c.GlobalMsgCount,
		DeliveryMsgCount:    c.ZoneLocalMsgCount + c.RegionLocalMsgCount + c.GlobalMsgCount,
		ClientCount:         int(c.ClientCount),
		Paused:              c.Paused,
		E2E:                 nodeE2E(&c.E2E),
		lag: ChannelLag{
			Node: node, ChannelName: c.ChannelName, OldestMsgAgeMs: c.OldestMsgAgeMs, FinLatency: nodeE2E(&c.FinLatency),
			MaxAttempts: c.MaxAttempts, DeadLetterTopic: c.DeadLetterTopic, DeadLetterCount: c.DeadLetterCount,
		},
	}
	if c.Clients != nil {
		cs.Clients = make([]*ClientStats, 0, len(c.Clients))
	}
	connectedTo := now.Truncate(time.Second)
	for _, cl := range c.Clients {
		if cl == nil {
			continue
		}
		cs.Clients = append(cs.Clients, &ClientStats{
			Node:                          node,
			RemoteAddress:                 cl.RemoteAddress,
			Version:                       cl.Version,
			ClientID:                      cl.ClientID,
			Hostname:                      cl.Hostname,
			UserAgent:                     cl.UserAgent,
			ConnectTs:                     cl.ConnectTs,
			Connected:                     int64(connectedTo.Sub(time.Unix(cl.ConnectTs, 0))),
			InFlightCount:                 cl.InFlightCount,
			ReadyCount:                    cl.ReadyCount,
			FinishCount:                   cl.FinishCount,
			RequeueCount:                  cl.RequeueCount,
			MessageCount:                  cl.MessageCount,
			SampleRate:                    cl.SampleRate,
			Deflate:                       cl.Deflate,
			Snappy:                        cl.Snappy,
			Authed:                        cl.Authed,
			AuthIdentity:                  cl.AuthIdentity,
			AuthIdentityURL:               cl.AuthIdentityURL,
			NodeTopologyRegion:            p.TopologyRegion,
			NodeTopologyZone:              p.TopologyZone,
			TopologyRegion:                cl.TopologyRegion,
			TopologyZone:                  cl.TopologyZone,
			TLS:                           cl.TLS,
			TLSCipherSuite:                cl.TLSCipherSuite,
			TLSVersion:                    cl.TLSVersion,
			TLSNegotiatedProtocol:         cl.TLSNegotiatedProtocol,
			TLSNegotiatedProtocolIsMutual: cl.TLSNegotiatedProtocolIsMutual,
		})
	}
	sortClients(cs.Clients)
	return cs
}

// nodeE2E turns one node's quantiles into entries whose min, max and
// average are the node's value. As in NSQ, a node's summary names no
// topic, channel or host (those are "" and set on aggregates only).
func nodeE2E(e *clusterinfo.E2E) *E2ELatency {
	out := &E2ELatency{Count: e.Count}
	for _, p := range e.Percentiles {
		v := p.Value
		out.Percentiles = append(out.Percentiles, &Percentile{
			Quantile: p.Quantile, Value: &v, Min: v, Max: v, Average: v, Count: e.Count,
		})
	}
	return out
}

// add merges a node's quantiles into an aggregate: per quantile the max
// of the maxima, the min of the minima of the nodes that have measured
// something (count > 0), the count-weighted average (0 while the count
// is 0, as in NSQ) and the summed count; quantiles sorted descending.
// NSQ's min is the last merged node's max, which depends on which node
// answered last; see docs/differences.md.
func (e *E2ELatency) add(n *E2ELatency) {
	e.Host = "*"
	e.Count += n.Count
	for _, np := range n.Percentiles {
		var p *Percentile
		for _, ep := range e.Percentiles {
			if ep.Quantile == np.Quantile {
				p = ep
				break
			}
		}
		if p == nil {
			e.Percentiles = append(e.Percentiles, &Percentile{
				Quantile: np.Quantile, Min: np.Min, Max: np.Max, Average: np.Average, Count: np.Count,
			})
			continue
		}
		p.Max = math.Max(p.Max, np.Max)
		switch {
		case np.Count == 0:
		case p.Count == 0:
			p.Min = np.Min
		default:
			p.Min = math.Min(p.Min, np.Min)
		}
		total := p.Count + np.Count
		if total > 0 {
			p.Average = (p.Average*float64(p.Count) + np.Average*float64(np.Count)) / float64(total)
		} else {
			p.Average = 0
		}
		p.Count = total
	}
	sort.Slice(e.Percentiles, func(i, j int) bool { return e.Percentiles[i].Quantile > e.Percentiles[j].Quantile })
}

// aggregateTopic sums a topic's per-node stats; its channels are summed
// by name.
func aggregateTopic(name string, nodes []*TopicStats) *TopicStats {
	agg := &TopicStats{
		Node:      "*",
		TopicName: name,
		E2E:       &E2ELatency{Topic: name, Host: "*"},
	}
	channels := map[string]*ChannelStats{}
	for _, n := range nodes {
		if n.TopicName != name {
			continue
		}
		agg.Depth += n.Depth
		agg.MemoryDepth += n.MemoryDepth
		agg.BackendDepth += n.BackendDepth
		agg.MessageCount += n.MessageCount
		agg.DeliveryMsgCount += n.DeliveryMsgCount
		agg.ZoneLocalMsgCount += n.ZoneLocalMsgCount
		agg.RegionLocalMsgCount += n.RegionLocalMsgCount
		agg.GlobalMsgCount += n.GlobalMsgCount
		agg.Paused = agg.Paused || n.Paused
		agg.E2E.add(n.E2E)
		agg.Nodes = append(agg.Nodes, n)
		for _, c := range n.Channels {
			a, ok := channels[c.ChannelName]
			if !ok {
				a = newChannelAggregate(name, c.ChannelName)
				channels[c.ChannelName] = a
				agg.Channels = append(agg.Channels, a)
			}
			a.add(c)
		}
	}
	sortNodeStats(agg.Nodes)
	sort.Slice(agg.Channels, func(i, j int) bool { return agg.Channels[i].ChannelName < agg.Channels[j].ChannelName })
	for _, c := range agg.Channels {
		c.finish()
	}
	return agg
}

// aggregateChannels sums every channel over nodes, keyed by
// "topic/channel".
func aggregateChannels(nodes []*TopicStats) map[string]*ChannelStats {
	out := map[string]*ChannelStats{}
	for _, n := range nodes {
		for _, c := range n.Channels {
			key := n.TopicName + "/" + c.ChannelName
			a, ok := out[key]
			if !ok {
				a = newChannelAggregate(n.TopicName, c.ChannelName)
				out[key] = a
			}
			a.add(c)
		}
	}
	for _, a := range out {
		a.finish()
	}
	return out
}

func newChannelAggregate(topic, channel string) *ChannelStats {
	return &ChannelStats{
		Node:        "*",
		TopicName:   topic,
		ChannelName: channel,
		E2E:         &E2ELatency{Topic: topic, Channel: channel, Host: "*"},
		lag:         ChannelLag{Node: "*", ChannelName: channel, FinLatency: &E2ELatency{Topic: topic, Channel: channel, Host: "*"}},
	}
}

func (c *ChannelStats) add(n *ChannelStats) {
	c.Depth += n.Depth
	c.MemoryDepth += n.MemoryDepth
	c.BackendDepth += n.BackendDepth
	c.InFlightCount += n.InFlightCount
	c.DeferredCount += n.DeferredCount
	c.RequeueCount += n.RequeueCount
	c.TimeoutCount += n.TimeoutCount
	c.MessageCount += n.MessageCount
	c.DeliveryMsgCount += n.DeliveryMsgCount
	c.ZoneLocalMsgCount += n.ZoneLocalMsgCount
	c.RegionLocalMsgCount += n.RegionLocalMsgCount
	c.GlobalMsgCount += n.GlobalMsgCount
	c.ClientCount += n.ClientCount
	c.Paused = c.Paused || n.Paused
	c.E2E.add(n.E2E)
	c.lag.add(n.lag)
	c.Nodes = append(c.Nodes, n)
	c.Clients = append(c.Clients, n.Clients...)
}

// finish puts the aggregate's nodes and clients in their display order.
func (c *ChannelStats) finish() {
	sort.SliceStable(c.Nodes, func(i, j int) bool {
		if c.Nodes[i].Hostname != c.Nodes[j].Hostname {
			return c.Nodes[i].Hostname < c.Nodes[j].Hostname
		}
		return c.Nodes[i].Node < c.Nodes[j].Node
	})
	sortClients(c.Clients)
}

func sortNodeStats(ts []*TopicStats) {
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].Hostname != ts[j].Hostname {
			return ts[i].Hostname < ts[j].Hostname
		}
		return ts[i].Node < ts[j].Node
	})
}

// sortClients orders clients by node; within a node, clients in the
// node's own region and zone first, then its region, then by region and
// zone name, then by host and address so the order is stable.
func sortClients(cs []*ClientStats) {
	locality := func(c *ClientStats) int {
		switch {
		case c.TopologyRegion == c.NodeTopologyRegion && c.TopologyZone == c.NodeTopologyZone:
			return 0
		case c.TopologyRegion == c.NodeTopologyRegion:
			return 1
		}
		return 2
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if la, lb := locality(a), locality(b); la != lb {
			return la < lb
		}
		if a.TopologyRegion != b.TopologyRegion {
			return a.TopologyRegion < b.TopologyRegion
		}
		if a.TopologyZone != b.TopologyZone {
			return a.TopologyZone < b.TopologyZone
		}
		if a.Hostname != b.Hostname {
			return a.Hostname < b.Hostname
		}
		return a.RemoteAddress < b.RemoteAddress
	})
}

func (l *ChannelLag) add(n ChannelLag) {
	l.FinLatency.add(n.FinLatency)
	l.OldestMsgAgeMs = max(l.OldestMsgAgeMs, n.OldestMsgAgeMs)
	l.MaxAttempts = max(l.MaxAttempts, n.MaxAttempts)
	if l.DeadLetterTopic == "" {
		l.DeadLetterTopic = n.DeadLetterTopic
	}
	l.DeadLetterCount += n.DeadLetterCount
	l.Nodes = append(l.Nodes, n)
}
