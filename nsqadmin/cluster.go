package nsqadmin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
)

// cluster asks nsqlookupd and nsqd what the cluster looks like. Every
// method fans out to all the upstreams it needs at once and returns what
// the healthy ones said: a *partialError when some failed (the result is
// still good), an *allFailedError when none answered. Each call is bounded
// by the HTTP client's connect and request timeouts. Safe for concurrent
// use.
type cluster struct {
	client *httpapi.Client
}

// partialError says some upstreams failed; the result next to it holds
// what the others said.
type partialError struct {
	errs []error
}

func (e *partialError) Error() string { return joinErrors(e.errs) }

// allFailedError says no upstream answered.
type allFailedError struct {
	kind string // "nsqd" or "nsqlookupd"
	errs []error
}

func (e *allFailedError) Error() string {
	return fmt.Sprintf("failed to query any %s: %s", e.kind, joinErrors(e.errs))
}

func joinErrors(errs []error) string {
	parts := make([]string, len(errs))
	for i, err := range errs {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

// combine turns the errors of n calls to upstreams of one kind into nil, a
// *partialError or an *allFailedError.
func combine(kind string, n int, errs []error) error {
	switch {
	case len(errs) == 0:
		return nil
	case len(errs) < n:
		return &partialError{errs: errs}
	}
	return &allFailedError{kind: kind, errs: errs}
}

// isPartial reports whether err only says that some upstreams failed.
func isPartial(err error) bool {
	var pe *partialError
	return errors.As(err, &pe)
}

// fanOut runs f(0..n-1) concurrently and returns the results in index
// order (zero values where f failed) with the errors in index order.
func fanOut[T any](n int, f func(i int) (T, error)) ([]T, []error) {
	results := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f(i)
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	return results, failed
}

// get fetches a V1 JSON document; its errors name the URL.
func (c *cluster) get(ctx context.Context, endpoint string, v any) error {
	return describe("GET", endpoint, c.client.GETV1(ctx, endpoint, v))
}

// post calls an admin endpoint; its errors name the URL.
func (c *cluster) post(ctx context.Context, endpoint string) error {
	return describe("POST", endpoint, c.client.POSTV1(ctx, endpoint, nil))
}

// describe prefixes err with the request so that an operator reading the
// warning on a page knows which node said what.
func describe(method, endpoint string, err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: %w", method, endpoint, err)
}

func endpoint(addr, path string, q url.Values) string {
	u := url.URL{Scheme: "http", Host: addr, Path: path}
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// lookupdTopics is the sorted union of every lookupd's /topics.
func (c *cluster) lookupdTopics(ctx context.Context, lookupds []string) ([]string, error) {
	lists, errs := fanOut(len(lookupds), func(i int) ([]string, error) {
		var r lookupdTopics
		err := c.get(ctx, endpoint(lookupds[i], "/topics", nil), &r)
		return r.Topics, err
	})
	return union(lists), combine("nsqlookupd", len(lookupds), errs)
}

// lookupdTopicChannels is the sorted union of every lookupd's
// /channels?topic= (nil when there are none).
func (c *cluster) lookupdTopicChannels(ctx context.Context, topic string, lookupds []string) ([]string, error) {
	lists, errs := fanOut(len(lookupds), func(i int) ([]string, error) {
		var r lookupdChannels
		err := c.get(ctx, endpoint(lookupds[i], "/channels", url.Values{"topic": {topic}}), &r)
		return r.Channels, err
	})
	return union(lists), combine("nsqlookupd", len(lookupds), errs)
}

// union merges string lists into one sorted list without duplicates; nil
// when empty.
func union(lists [][]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// nsqdTopics is the sorted union of the topics of every nsqd.
func (c *cluster) nsqdTopics(ctx context.Context, nsqds []string) ([]string, error) {
	lists, errs := fanOut(len(nsqds), func(i int) ([]string, error) {
		var s nsqdStats
		err := c.get(ctx, statsURL(nsqds[i], "", "", false), &s)
		names := make([]string, 0, len(s.Topics))
		for _, t := range s.Topics {
			if t != nil {
				names = append(names, t.TopicName)
			}
		}
		return names, err
	})
	return union(lists), combine("nsqd", len(nsqds), errs)
}

// topics lists the cluster's topics from the lookupds, or from the nsqds
// when there are no lookupds.
func (c *cluster) topics(ctx context.Context, lookupds, nsqds []string) ([]string, error) {
	if len(lookupds) > 0 {
		return c.lookupdTopics(ctx, lookupds)
	}
	return c.nsqdTopics(ctx, nsqds)
}

func statsURL(addr, topic, channel string, includeClients bool) string {
	q := url.Values{"format": {"json"}}
	if topic != "" {
		q.Set("topic", topic)
	}
	if channel != "" {
		q.Set("channel", channel)
	}
	q.Set("include_clients", strconv.FormatBool(includeClients))
	q.Set("include_mem", "false")
	return endpoint(addr, "/stats", q)
}

func producerFromPeer(p *lookupdPeer) *Producer {
	return &Producer{
		RemoteAddress:    p.RemoteAddress,
		Hostname:         p.Hostname,
		BroadcastAddress: p.BroadcastAddress,
		TCPPort:          p.TCPPort,
		HTTPPort:         p.HTTPPort,
		Version:          p.Version,
		TopologyZone:     p.TopologyZone,
		TopologyRegion:   p.TopologyRegion,
	}
}

func producerFromInfo(info *nsqdInfo) *Producer {
	return &Producer{
		Hostname:         info.Hostname,
		BroadcastAddress: info.BroadcastAddress,
		TCPPort:          info.TCPPort,
		HTTPPort:         info.HTTPPort,
		Version:          info.Version,
		TopologyZone:     info.TopologyZone,
		TopologyRegion:   info.TopologyRegion,
	}
}

// lookupdTopicProducers is the union of every lookupd's producers of
// topic, deduplicated by broadcast_address:http_port.
func (c *cluster) lookupdTopicProducers(ctx context.Context, topic string, lookupds []string) ([]*Producer, error) {
	lists, errs := fanOut(len(lookupds), func(i int) ([]*lookupdPeer, error) {
		var r lookupdLookup
		err := c.get(ctx, endpoint(lookupds[i], "/lookup", url.Values{"topic": {topic}}), &r)
		return r.Producers, err
	})
	seen := map[string]bool{}
	var out []*Producer
	for _, l := range lists {
		for _, peer := range l {
			if peer == nil {
				continue
			}
			p := producerFromPeer(peer)
			if !seen[p.HTTPAddress()] {
				seen[p.HTTPAddress()] = true
				out = append(out, p)
			}
		}
	}
	sortProducers(out)
	return out, combine("nsqlookupd", len(lookupds), errs)
}

// nsqdNode is what one configured nsqd says about itself.
type nsqdNode struct {
	addr     string // the configured address, used for every call
	producer *Producer
	stats    *nsqdStats
}

// nsqdNodes asks each configured nsqd for /info and /stats (without
// clients), optionally restricted to topic.
func (c *cluster) nsqdNodes(ctx context.Context, nsqds []string, topic string) ([]*nsqdNode, error) {
	nodes, errs := fanOut(len(nsqds), func(i int) (*nsqdNode, error) {
		var info nsqdInfo
		if err := c.get(ctx, endpoint(nsqds[i], "/info", nil), &info); err != nil {
			return nil, err
		}
		var stats nsqdStats
		if err := c.get(ctx, statsURL(nsqds[i], topic, "", false), &stats); err != nil {
			return nil, err
		}
		p := producerFromInfo(&info)
		p.addr = nsqds[i]
		return &nsqdNode{addr: nsqds[i], producer: p, stats: &stats}, nil
	})
	var out []*nsqdNode
	for _, n := range nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out, combine("nsqd", len(nsqds), errs)
}

// nsqdTopicProducers lists the configured nsqds that have topic.
func (c *cluster) nsqdTopicProducers(ctx context.Context, topic string, nsqds []string) ([]*Producer, error) {
	nodes, err := c.nsqdNodes(ctx, nsqds, topic)
	var out []*Producer
	for _, n := range nodes {
		for _, t := range n.stats.Topics {
			if t != nil && t.TopicName == topic {
				out = append(out, n.producer)
				break
			}
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
	lists, errs := fanOut(len(lookupds), func(i int) ([]*lookupdPeer, error) {
		var r lookupdNodes
		err := c.get(ctx, endpoint(lookupds[i], "/nodes", nil), &r)
		return r.Producers, err
	})
	byAddr := map[string]*Producer{}
	topics := map[string]map[string]bool{} // node → topic → tombstoned
	var out []*Producer
	for i, l := range lists {
		for _, peer := range l {
			if peer == nil {
				continue
			}
			key := net.JoinHostPort(peer.BroadcastAddress, strconv.Itoa(peer.TCPPort))
			p, ok := byAddr[key]
			if !ok {
				p = producerFromPeer(peer)
				byAddr[key] = p
				topics[key] = map[string]bool{}
				out = append(out, p)
			}
			p.RemoteAddresses = append(p.RemoteAddresses, lookupds[i]+"/"+peer.RemoteAddress)
			for j, t := range peer.Topics {
				// a lookupd whose tombstones list is too short is tolerated:
				// a missing entry means not tombstoned
				tomb := j < len(peer.Tombstones) && peer.Tombstones[j]
				topics[key][t] = topics[key][t] || tomb
			}
		}
	}
	for _, p := range out {
		p.Topics = producerTopics(topics[p.TCPAddress()])
	}
	sortProducers(out)
	markOutOfDate(out)
	return out, combine("nsqlookupd", len(lookupds), errs)
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
	nodes, err := c.nsqdNodes(ctx, nsqds, "")
	out := make([]*Producer, 0, len(nodes))
	for _, n := range nodes {
		m := map[string]bool{}
		for _, t := range n.stats.Topics {
			if t != nil {
				m[t.TopicName] = false
			}
		}
		n.producer.Topics = producerTopics(m)
		out = append(out, n.producer)
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

// nodeResult is one node's answer to /stats.
type nodeResult struct {
	producer *Producer
	topics   []*TopicStats // converted to what /api serves
	err      error
}

// statsEach fetches /stats from each producer (optionally only topic
// and/or channel), in producer order.
func (c *cluster) statsEach(ctx context.Context, producers []*Producer, topic, channel string, includeClients bool) []nodeResult {
	out := make([]nodeResult, len(producers))
	var wg sync.WaitGroup
	for i, p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].producer = p
			var s nsqdStats
			if err := c.get(ctx, statsURL(p.callAddress(), topic, channel, includeClients), &s); err != nil {
				out[i].err = err
				return
			}
			now := time.Now()
			for _, t := range s.Topics {
				if t == nil || (topic != "" && t.TopicName != topic) {
					continue
				}
				out[i].topics = append(out[i].topics, nodeTopicStats(p, t, channel, now))
			}
		}()
	}
	wg.Wait()
	return out
}

// nodeStats returns every node's topics from statsEach. A node that lacks
// the topic contributes nothing. With no producers at all it is an
// *allFailedError, as in NSQ.
func (c *cluster) nodeStats(ctx context.Context, producers []*Producer, topic, channel string, includeClients bool) ([]*TopicStats, error) {
	if len(producers) == 0 {
		return nil, &allFailedError{kind: "nsqd"}
	}
	var out []*TopicStats
	var errs []error
	for _, r := range c.statsEach(ctx, producers, topic, channel, includeClients) {
		if r.err != nil {
			errs = append(errs, r.err)
		}
		out = append(out, r.topics...)
	}
	return out, combine("nsqd", len(producers), errs)
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
