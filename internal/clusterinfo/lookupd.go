package clusterinfo

import (
	"context"
	"net/url"
	"sort"
)

const kindLookupd = "nsqlookupd"

// LookupdTopics is the sorted union of every lookupd's GET /topics (nil
// when there are none).
func (c *Client) LookupdTopics(ctx context.Context, lookupds []string) ([]string, error) {
	lists, errs := FanOut(len(lookupds), func(i int) ([]string, error) {
		var r lookupdTopics
		err := c.Get(ctx, Endpoint(lookupds[i], "/topics", nil), &r)
		return r.Topics, err
	})
	return finish(c, kindLookupd, len(lookupds), Union(lists), errs)
}

// LookupdTopicChannels is the sorted union of every lookupd's GET
// /channels?topic= (nil when there are none).
func (c *Client) LookupdTopicChannels(ctx context.Context, lookupds []string, topic string) ([]string, error) {
	lists, errs := FanOut(len(lookupds), func(i int) ([]string, error) {
		var r lookupdChannels
		err := c.Get(ctx, Endpoint(lookupds[i], "/channels", url.Values{"topic": {topic}}), &r)
		return r.Channels, err
	})
	return finish(c, kindLookupd, len(lookupds), Union(lists), errs)
}

// LookupdTopicProducers is the union of every lookupd's producers of
// topic (GET /lookup?topic=), deduplicated by HTTPAddress, in the order
// first seen (lookupds in the order given). A lookupd that does not know
// the topic answers 404, which counts as a failure.
func (c *Client) LookupdTopicProducers(ctx context.Context, lookupds []string, topic string) ([]*Peer, error) {
	lists, errs := FanOut(len(lookupds), func(i int) ([]*Peer, error) {
		var r lookupdLookup
		err := c.Get(ctx, Endpoint(lookupds[i], "/lookup", url.Values{"topic": {topic}}), &r)
		return r.Producers, err
	})
	seen := map[string]bool{}
	var out []*Peer
	for _, l := range lists {
		for _, p := range l {
			if p != nil && !seen[p.HTTPAddress()] {
				seen[p.HTTPAddress()] = true
				out = append(out, p)
			}
		}
	}
	return finish(c, kindLookupd, len(lookupds), out, errs)
}

// LookupdNodes returns every lookupd's GET /nodes, index for index with
// lookupds (nil for one that failed): merging them is the caller's
// business, since what to merge by differs.
func (c *Client) LookupdNodes(ctx context.Context, lookupds []string) ([][]*Node, error) {
	lists, errs := FanOut(len(lookupds), func(i int) ([]*Node, error) {
		var r lookupdNodes
		err := c.Get(ctx, Endpoint(lookupds[i], "/nodes", nil), &r)
		return r.Producers, err
	})
	return finish(c, kindLookupd, len(lookupds), lists, errs)
}

// Union merges string lists into one sorted list without duplicates; nil
// when empty.
func Union(lists [][]string) []string {
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
