package clusterinfo

import (
	"context"
	"net/url"
	"strconv"
)

const kindNSQD = "nsqd"

// StatsQuery selects what nsqd's GET /stats?format=json returns.
type StatsQuery struct {
	Topic   string // only this topic ("" for all)
	Channel string // only this channel of Topic ("" for all)
	Clients bool   // include_clients: list each channel's clients
	// OmitMem sends include_mem=false so that nsqd skips its memory
	// statistics; when false the parameter is not sent and nsqd's default
	// (include them) applies.
	OmitMem bool
}

func (q StatsQuery) values() url.Values {
	v := url.Values{"format": {"json"}}
	if q.Topic != "" {
		v.Set("topic", q.Topic)
	}
	if q.Channel != "" {
		v.Set("channel", q.Channel)
	}
	v.Set("include_clients", strconv.FormatBool(q.Clients))
	if q.OmitMem {
		v.Set("include_mem", "false")
	}
	return v
}

// Stats fetches one nsqd's GET /stats.
func (c *Client) Stats(ctx context.Context, addr string, q StatsQuery) (*Stats, error) {
	var s Stats
	if err := c.Get(ctx, Endpoint(addr, "/stats", q.values()), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Info fetches one nsqd's GET /info; RemoteAddress is empty.
func (c *Client) Info(ctx context.Context, addr string) (*Peer, error) {
	var p Peer
	if err := c.Get(ctx, Endpoint(addr, "/info", nil), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// StatsEach fetches GET /stats from every address with q, index for
// index with addrs (nil for one that failed).
func (c *Client) StatsEach(ctx context.Context, addrs []string, q StatsQuery) ([]*Stats, error) {
	stats, errs := FanOut(len(addrs), func(i int) (*Stats, error) {
		return c.Stats(ctx, addrs[i], q)
	})
	return finish(c, kindNSQD, len(addrs), stats, errs)
}

// NSQDTopics is the sorted union of the topics of every nsqd (nil when
// there are none).
func (c *Client) NSQDTopics(ctx context.Context, nsqds []string) ([]string, error) {
	lists, errs := FanOut(len(nsqds), func(i int) ([]string, error) {
		s, err := c.Stats(ctx, nsqds[i], StatsQuery{OmitMem: true})
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(s.Topics))
		for _, t := range s.Topics {
			if t != nil {
				names = append(names, t.TopicName)
			}
		}
		return names, nil
	})
	return finish(c, kindNSQD, len(nsqds), Union(lists), errs)
}

// NSQD is what one nsqd, asked at Addr, says about itself.
type NSQD struct {
	Addr  string // the address it was asked at
	Info  *Peer  // its GET /info
	Stats *Stats // its GET /stats, without clients
}

// NSQDNodes asks every nsqd for GET /info and then GET /stats (without
// clients or memory, only topic unless that is ""). The nodes that
// answered both are returned in address order.
func (c *Client) NSQDNodes(ctx context.Context, nsqds []string, topic string) ([]*NSQD, error) {
	nodes, errs := FanOut(len(nsqds), func(i int) (*NSQD, error) {
		info, err := c.Info(ctx, nsqds[i])
		if err != nil {
			return nil, err
		}
		stats, err := c.Stats(ctx, nsqds[i], StatsQuery{Topic: topic, OmitMem: true})
		if err != nil {
			return nil, err
		}
		return &NSQD{Addr: nsqds[i], Info: info, Stats: stats}, nil
	})
	return finish(c, kindNSQD, len(nsqds), answered(nodes), errs)
}

// NSQDTopicProducers asks every nsqd for GET /stats?topic= (without
// clients) and those that have the topic for GET /info. The nodes that
// have it are returned in address order. Unlike NSQDNodes it asks /info
// only of the nodes it will return.
func (c *Client) NSQDTopicProducers(ctx context.Context, nsqds []string, topic string) ([]*NSQD, error) {
	nodes, errs := FanOut(len(nsqds), func(i int) (*NSQD, error) {
		stats, err := c.Stats(ctx, nsqds[i], StatsQuery{Topic: topic})
		if err != nil || !stats.HasTopic(topic) {
			return nil, err
		}
		info, err := c.Info(ctx, nsqds[i])
		if err != nil {
			return nil, err
		}
		return &NSQD{Addr: nsqds[i], Info: info, Stats: stats}, nil
	})
	return finish(c, kindNSQD, len(nsqds), answered(nodes), errs)
}

// answered drops the nil entries.
func answered(nodes []*NSQD) []*NSQD {
	var out []*NSQD
	for _, n := range nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}
