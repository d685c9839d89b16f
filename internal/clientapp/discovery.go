package clientapp

import (
	"context"
	"errors"
	"slices"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
)

// The apps ask the cluster through clusterinfo under its Strict policy:
// any failing upstream makes the whole answer an error, so an app never
// acts on a partial list.

func strict(c *httpapi.Client) *clusterinfo.Client {
	return clusterinfo.New(c, clusterinfo.Strict)
}

// LookupdTopics returns the sorted union of the topics every lookupd knows
// (GET /topics). If any lookupd fails, the whole answer is an error.
func LookupdTopics(ctx context.Context, c *httpapi.Client, lookupds []string) ([]string, error) {
	return strict(c).LookupdTopics(ctx, lookupds)
}

// LookupdTopicProducers returns the HTTP addresses
// (broadcast_address:http_port) of the nsqd nodes that the lookupds list
// for topic (GET /lookup), deduplicated, in first-seen order. Any failing
// lookupd (including "topic not found") makes it an error.
func LookupdTopicProducers(ctx context.Context, c *httpapi.Client, lookupds []string, topic string) ([]string, error) {
	peers, err := strict(c).LookupdTopicProducers(ctx, lookupds, topic)
	var out []string
	for _, p := range peers {
		out = append(out, p.HTTPAddress())
	}
	return out, err
}

// NSQDTopicProducers asks each nsqd (by HTTP address) whether it has
// topic and returns, for those that do, the broadcast HTTP address from
// their GET /info, deduplicated. Any failing nsqd makes it an error.
func NSQDTopicProducers(ctx context.Context, c *httpapi.Client, nsqds []string, topic string) ([]string, error) {
	nodes, err := strict(c).NSQDTopicProducers(ctx, nsqds, topic)
	var out []string
	for _, n := range nodes {
		if hp := n.Info.HTTPAddress(); !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	return out, err
}

// ChannelStats are one channel's counters from nsqd's /stats, or their sum
// over several nodes.
type ChannelStats = clusterinfo.ChannelCounts

// ErrNoProducers is returned by SumChannelStats when asked about no
// nodes at all (a topic that exists nowhere). Its text is NSQ's.
var ErrNoProducers = errors.New("failed to query any nsqd: ")

// ErrChannelNotFound is returned by SumChannelStats when no node has the
// channel.
var ErrChannelNotFound = errors.New("channel not found")

// SumChannelStats fetches topic/channel from each nsqd HTTP address and
// sums the channel's counters. Any failing node makes it an error.
func SumChannelStats(ctx context.Context, c *httpapi.Client, nsqds []string, topic, channel string) (ChannelStats, error) {
	sum := ChannelStats{ChannelName: channel}
	if len(nsqds) == 0 {
		return sum, ErrNoProducers
	}
	all, err := strict(c).StatsEach(ctx, nsqds, clusterinfo.StatsQuery{Topic: topic, Channel: channel})
	if err != nil {
		return sum, err
	}
	found := false
	for _, s := range all {
		for _, t := range s.Topics {
			if t == nil || t.TopicName != topic {
				continue
			}
			for _, ch := range t.Channels {
				if ch != nil && ch.ChannelName == channel {
					sum.Add(ch.ChannelCounts)
					found = true
				}
			}
		}
	}
	if !found {
		return sum, ErrChannelNotFound
	}
	return sum, nil
}
