package clientapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dropin/nsq/internal/httpapi"
)

// endpoint builds the URL of path on the daemon at addr, which is a
// host:port or, as go-nsq allows for lookupds, a URL with a scheme.
func endpoint(addr, path string, query url.Values) string {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := strings.TrimSuffix(base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// LookupdTopics returns the sorted union of the topics every lookupd knows
// (GET /topics). If any lookupd fails, the whole answer is an error, so a
// caller never acts on a partial list.
func LookupdTopics(ctx context.Context, c *httpapi.Client, lookupds []string) ([]string, error) {
	seen := map[string]bool{}
	for _, addr := range lookupds {
		var resp struct {
			Topics []string `json:"topics"`
		}
		if err := c.GETV1(ctx, endpoint(addr, "/topics", nil), &resp); err != nil {
			return nil, fmt.Errorf("lookupd %s: %w", addr, err)
		}
		for _, t := range resp.Topics {
			seen[t] = true
		}
	}
	topics := make([]string, 0, len(seen))
	for t := range seen {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	return topics, nil
}

// LookupdTopicProducers returns the HTTP addresses
// (broadcast_address:http_port) of the nsqd nodes that the lookupds list
// for topic (GET /lookup), deduplicated, in first-seen order. Any failing
// lookupd (including "topic not found") makes it an error.
func LookupdTopicProducers(ctx context.Context, c *httpapi.Client, lookupds []string, topic string) ([]string, error) {
	var out []string
	for _, addr := range lookupds {
		var resp struct {
			Producers []struct {
				BroadcastAddress string `json:"broadcast_address"`
				HTTPPort         int    `json:"http_port"`
			} `json:"producers"`
		}
		if err := c.GETV1(ctx, endpoint(addr, "/lookup", url.Values{"topic": {topic}}), &resp); err != nil {
			return nil, fmt.Errorf("lookupd %s: %w", addr, err)
		}
		for _, p := range resp.Producers {
			hp := net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.HTTPPort))
			if !slices.Contains(out, hp) {
				out = append(out, hp)
			}
		}
	}
	return out, nil
}

// stats is the part of nsqd's GET /stats?format=json that the apps read.
type stats struct {
	Topics []topicStats `json:"topics"`
}

type topicStats struct {
	TopicName string         `json:"topic_name"`
	Channels  []ChannelStats `json:"channels"`
}

// ChannelStats are one channel's counters from nsqd's /stats, or their sum
// over several nodes.
type ChannelStats struct {
	ChannelName   string `json:"channel_name"`
	Depth         int64  `json:"depth"`
	BackendDepth  int64  `json:"backend_depth"`
	InFlightCount int64  `json:"in_flight_count"`
	DeferredCount int64  `json:"deferred_count"`
	MessageCount  int64  `json:"message_count"`
	RequeueCount  int64  `json:"requeue_count"`
	TimeoutCount  int64  `json:"timeout_count"`
	ClientCount   int64  `json:"client_count"`
}

// add sums o into s.
func (s *ChannelStats) add(o ChannelStats) {
	s.Depth += o.Depth
	s.BackendDepth += o.BackendDepth
	s.InFlightCount += o.InFlightCount
	s.DeferredCount += o.DeferredCount
	s.MessageCount += o.MessageCount
	s.RequeueCount += o.RequeueCount
	s.TimeoutCount += o.TimeoutCount
	s.ClientCount += o.ClientCount
}

func getStats(ctx context.Context, c *httpapi.Client, addr string, q url.Values) (*stats, error) {
	q.Set("format", "json")
	q.Set("include_clients", "false")
	var s stats
	if err := c.GETV1(ctx, endpoint(addr, "/stats", q), &s); err != nil {
		return nil, fmt.Errorf("nsqd %s: %w", addr, err)
	}
	return &s, nil
}

// NSQDTopicProducers asks each nsqd (by HTTP address) whether it has
// topic and returns, for those that do, the broadcast HTTP address from
// their GET /info. Any failing nsqd makes it an error.
func NSQDTopicProducers(ctx context.Context, c *httpapi.Client, nsqds []string, topic string) ([]string, error) {
	var out []string
	for _, addr := range nsqds {
		s, err := getStats(ctx, c, addr, url.Values{"topic": {topic}})
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(s.Topics, func(t topicStats) bool { return t.TopicName == topic }) {
			continue
		}
		var info struct {
			BroadcastAddress string `json:"broadcast_address"`
			HTTPPort         int    `json:"http_port"`
		}
		if err := c.GETV1(ctx, endpoint(addr, "/info", nil), &info); err != nil {
			return nil, fmt.Errorf("nsqd %s: %w", addr, err)
		}
		hp := net.JoinHostPort(info.BroadcastAddress, strconv.Itoa(info.HTTPPort))
		if !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	return out, nil
}

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
	found := false
	for _, addr := range nsqds {
		s, err := getStats(ctx, c, addr, url.Values{"topic": {topic}, "channel": {channel}})
		if err != nil {
			return sum, err
		}
		for _, t := range s.Topics {
			if t.TopicName != topic {
				continue
			}
			for _, ch := range t.Channels {
				if ch.ChannelName == channel {
					sum.add(ch)
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
