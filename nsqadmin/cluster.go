package nsqadmin

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
)

// cluster is nsqadmin's view of the cluster: the queries of
// clusterinfo.Client under the Partial policy (what the healthy upstreams
// said, a *clusterinfo.PartialError when some failed, an
// *clusterinfo.AllFailedError when none answered), with the answers
// turned into what /api serves: Producers merged, sorted and marked out
// of date, per-node topic stats. Safe for concurrent use.
type cluster struct {
	*clusterinfo.Client
}

// topics lists the cluster's topics from the lookupds, or from the nsqds
// when there are no lookupds.
func (c *cluster) topics(ctx context.Context, lookupds, nsqds []string) ([]string, error) {
	if len(lookupds) > 0 {
		return c.LookupdTopics(ctx, lookupds)
	}
	return c.NSQDTopics(ctx, nsqds)
}

func producerFromPeer(p *clusterinfo.Peer) *Producer {
	return &Producer{Identity: p.Identity, TopologyZone: p.TopologyZone, TopologyRegion: p.TopologyRegion}
}

// producerFromNSQD is a configured nsqd as its /info describes it; its
// requests go to the configured address.
func producerFromNSQD(n *clusterinfo.NSQD) *Producer {
	p := producerFromPeer(n.Info)
	p.addr = n.Addr
	return p
}

// lookupdTopicProducers is the union of every lookupd's producers of
// topic, deduplicated by broadcast_address:http_port.
func (c *cluster) lookupdTopicProducers(ctx context.Context, topic string, lookupds []string) ([]*Producer, error) {
	peers, err := c.LookupdTopicProducers(ctx, lookupds, topic)
	var out []*Producer
	for _, peer := range peers {
		out = append(out, producerFromPeer(peer))
	}
	sortProducers(out)
	return out, err
}

// nsqdTopicProducers lists the configured nsqds that have topic.
func (c *cluster) nsqdTopicProducers(ctx context.Context, topic string, nsqds []string) ([]*Producer, error) {
	nodes, err := c.NSQDNodes(ctx, nsqds, topic)
	var out []*Producer
	for _, n := range nodes {
		if n.Stats.HasTopic(topic) {
			out = append(out, producerFromNSQD(n))
		}
	}
	return out, err
}

// topicProducers lists the nsqds that have topic.
func (c *cluster) topicProducers(ctx context.Context, topic string, lookupds, nsqds []string) ([]*Producer, error) {
	if len(lookupds) > 0 {
		return c.lookupdTopicProducers(ctx, topic, lookupds)
	}
	return c.nsqdTopicProducers(ctx, topic, nsqds)
}

// lookupdProducers merges every lookupd's /nodes by
// broadcast_address:tcp_port; each lookupd that knows a node adds
// "<lookupd>/<remote_address>" to its RemoteAddresses.
func (c *cluster) lookupdProducers(ctx context.Context, lookupds []string) ([]*Producer, error) {
	lists, err := c.LookupdNodes(ctx, lookupds)
	byAddr := map[string]*Producer{}
	topics := map[string]map[string]bool{} // node → topic → tombstoned
	var out []*Producer
	for i, l := range lists {
		for _, node := range l {
			if node == nil {
				continue
			}
			key := node.TCPAddress()
			p, ok := byAddr[key]
			if !ok {
				p = producerFromPeer(&node.Peer)
				byAddr[key] = p
				topics[key] = map[string]bool{}
				out = append(out, p)
			}
			p.RemoteAddresses = append(p.RemoteAddresses, lookupds[i]+"/"+node.RemoteAddress)
			for j, t := range node.Topics {
				// a lookupd whose tombstones list is too short is tolerated:
				// a missing entry means not tombstoned
				tomb := j < len(node.Tombstones) && node.Tombstones[j]
				topics[key][t] = topics[key][t] || tomb
			}
		}
	}
	for _, p := range out {
		p.Topics = producerTopics(topics[p.TCPAddress()])
	}
	sortProducers(out)
	markOutOfDate(out)
	return out, err
}

func producerTopics(m map[string]bool) []ProducerTopic {
	var out []ProducerTopic
	for t, tomb := range m {
		out = append(out, ProducerTopic{Topic: t, Tombstoned: tomb})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// sortProducers orders nodes by hostname, then address.
func sortProducers(ps []*Producer) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Hostname != ps[j].Hostname {
			return ps[i].Hostname < ps[j].Hostname
		}
		return ps[i].HTTPAddress() < ps[j].HTTPAddress()
	})
}

// nsqdProducers describes each configured nsqd from its /info and /stats.
func (c *cluster) nsqdProducers(ctx context.Context, nsqds []string) ([]*Producer, error) {
	nodes, err := c.NSQDNodes(ctx, nsqds, "")
	out := make([]*Producer, 0, len(nodes))
	for _, n := range nodes {
		m := map[string]bool{}
		for _, t := range n.Stats.Topics {
			if t != nil {
				m[t.TopicName] = false
			}
		}
		p := producerFromNSQD(n)
		p.Topics = producerTopics(m)
		out = append(out, p)
	}
	markOutOfDate(out)
	return out, err
}

// producers lists every nsqd of the cluster.
func (c *cluster) producers(ctx context.Context, lookupds, nsqds []string) ([]*Producer, error) {
	if len(lookupds) > 0 {
		return c.lookupdProducers(ctx, lookupds)
	}
	return c.nsqdProducers(ctx, nsqds)
}

// nodeResult is one node's answer to /stats, converted to what /api
// serves.
type nodeResult struct {
	producer    *Producer
	topics      []*TopicStats
	replication *clusterinfo.Replication // ours; nil from NSQ's nsqd or with replication off
}

// statsEach fetches /stats from each producer (optionally only topic
// and/or channel) and returns the answers of those that answered, in
// producer order, with the Partial policy's error.
func (c *cluster) statsEach(ctx context.Context, producers []*Producer, topic, channel string, includeClients bool) ([]nodeResult, error) {
	addrs := make([]string, len(producers))
	for i, p := range producers {
		addrs[i] = p.callAddress()
	}
	q := clusterinfo.StatsQuery{Topic: topic, Channel: channel, Clients: includeClients, OmitMem: true}
	stats, err := c.StatsEach(ctx, addrs, q)
	now := time.Now()
	var out []nodeResult
	for i, s := range stats {
		if s == nil {
			continue
		}
		r := nodeResult{producer: producers[i], replication: s.Replication}
		for _, t := range s.Topics {
			if t == nil || (topic != "" && t.TopicName != topic) {
				continue
			}
			ts := nodeTopicStats(producers[i], t, channel, now)
			ts.replay.Replicated = s.Replication != nil
			r.topics = append(r.topics, ts)
		}
		out = append(out, r)
	}
	return out, err
}

// nodeStats returns every node's topics from statsEach. A node that lacks
// the topic contributes nothing. With no producers at all it is an
// *AllFailedError, as in NSQ.
func (c *cluster) nodeStats(ctx context.Context, producers []*Producer, topic, channel string, includeClients bool) ([]*TopicStats, error) {
	if len(producers) == 0 {
		return nil, &clusterinfo.AllFailedError{Kind: "nsqd"}
	}
	results, err := c.statsEach(ctx, producers, topic, channel, includeClients)
	var out []*TopicStats
	for _, r := range results {
		out = append(out, r.topics...)
	}
	return out, err
}

// findProducer returns the producer whose node key is node.
func findProducer(ps []*Producer, node string) *Producer {
	for _, p := range ps {
		if p.HTTPAddress() == node {
			return p
		}
	}
	return nil
}

// semver is a parsed semantic version; unparsable versions are 0.0.0.
type semver struct {
	major, minor, patch int
	pre                 string
}

func parseVersion(s string) semver {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	var v semver
	if i := strings.IndexByte(s, '-'); i >= 0 {
		v.pre = s[i+1:]
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return semver{}
	}
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return semver{}
		}
		nums[i] = n
	}
	v.major, v.minor, v.patch = nums[0], nums[1], nums[2]
	return v
}

// less orders versions; a pre-release sorts before its release.
func (v semver) less(o semver) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	if v.minor != o.minor {
		return v.minor < o.minor
	}
	if v.patch != o.patch {
		return v.patch < o.patch
	}
	if v.pre == "" || o.pre == "" {
		return v.pre != "" && o.pre == ""
	}
	return v.pre < o.pre
}

// markOutOfDate flags nodes whose version is below the highest one seen.
func markOutOfDate(ps []*Producer) {
	var maxV semver
	for _, p := range ps {
		if v := parseVersion(p.Version); maxV.less(v) {
			maxV = v
		}
	}
	for _, p := range ps {
		p.OutOfDate = parseVersion(p.Version).less(maxV)
	}
}
