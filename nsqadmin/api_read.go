package nsqadmin

import (
	"context"
	"net/http"
	"strconv"
	"sync"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/names"
)

// GET /api/topics[?inactive=true]
func (n *NSQAdmin) topicsHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, err
	}
	opts := n.getOpts()
	ctx := req.Context()
	// as in NSQ, the topic list is fetched (and its failures reported)
	// in both forms, in lookupd and in nsqd mode
	var warn warnings
	topics, err := n.cluster.topics(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	if v, _ := q.Get("inactive"); v == "true" {
		return struct {
			Topics  map[string][]string `json:"topics"`
			Message string              `json:"message"`
		}{n.inactiveTopics(ctx, topics, opts.NSQLookupdHTTPAddresses), warn.message()}, nil
	}
	if topics == nil {
		topics = []string{}
	}
	return struct {
		Topics  []string `json:"topics"`
		Message string   `json:"message"`
	}{topics, warn.message()}, nil
}

// inactiveTopics maps those of topics that no lookupd lists a producer
// for to their channels (null when none could be found); empty in nsqd
// mode. As in NSQ, failures of these lookups are not reported: a topic
// whose producers could not be asked counts as having none.
func (n *NSQAdmin) inactiveTopics(ctx context.Context, topics, lookupds []string) map[string][]string {
	out := map[string][]string{}
	if len(lookupds) == 0 {
		return out
	}
	var mu sync.Mutex // guards out
	clusterinfo.FanOut(len(topics), func(i int) (struct{}, error) {
		producers, _ := n.cluster.lookupdTopicProducers(ctx, topics[i], lookupds)
		if len(producers) > 0 {
			return struct{}{}, nil
		}
		channels, _ := n.cluster.LookupdTopicChannels(ctx, lookupds, topics[i])
		mu.Lock()
		defer mu.Unlock()
		out[topics[i]] = channels
		return struct{}{}, nil
	})
	return out
}

// GET /api/topics/:topic
func (n *NSQAdmin) topicHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	topic := ps.ByName("topic")
	opts := n.getOpts()
	ctx := req.Context()
	var warn warnings
	producers, err := n.cluster.topicProducers(ctx, topic, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	nodes, err := n.cluster.nodeStats(ctx, producers, topic, "", false)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	return struct {
		*TopicStats
		Message string `json:"message"`
	}{aggregateTopic(topic, nodes), warn.message()}, nil
}

// GET /api/topics/:topic/:channel. A channel no node has is 404
// CHANNEL_NOT_FOUND (NSQ's handler fails there with 500 INTERNAL_ERROR;
// see docs/differences.md).
func (n *NSQAdmin) channelHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	topic, channel := ps.ByName("topic"), ps.ByName("channel")
	opts := n.getOpts()
	ctx := req.Context()
	var warn warnings
	producers, err := n.cluster.topicProducers(ctx, topic, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	nodes, err := n.cluster.nodeStats(ctx, producers, topic, channel, true)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	stats := aggregateChannels(nodes)[topic+"/"+channel]
	if stats == nil {
		return nil, httpapi.Err{Code: http.StatusNotFound, Text: "CHANNEL_NOT_FOUND"}
	}
	return struct {
		*ChannelStats
		Message string `json:"message"`
	}{stats, warn.message()}, nil
}

// GET /api/nodes
func (n *NSQAdmin) nodesHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	opts := n.getOpts()
	var warn warnings
	producers, err := n.cluster.producers(req.Context(), opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	if producers == nil {
		producers = []*Producer{}
	}
	return struct {
		Nodes   []*Producer `json:"nodes"`
		Message string      `json:"message"`
	}{producers, warn.message()}, nil
}

// GET /api/nodes/:node
func (n *NSQAdmin) nodeHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	node := ps.ByName("node")
	opts := n.getOpts()
	ctx := req.Context()
	var warn warnings
	producers, err := n.cluster.producers(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	p := findProducer(producers, node)
	if p == nil {
		return nil, httpapi.Err{Code: http.StatusNotFound, Text: "NODE_NOT_FOUND"}
	}
	results, err := n.cluster.statsEach(ctx, []*Producer{p}, "", "", true)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	var topics []*TopicStats
	var replication *clusterinfo.Replication
	for _, r := range results {
		topics, replication = r.topics, r.replication
	}
	var totalMessages, totalClients int64
	for _, t := range topics {
		totalMessages += t.MessageCount
		for _, c := range t.Channels {
			totalClients += int64(len(c.Clients))
		}
	}
	if topics == nil {
		topics = []*TopicStats{}
	}
	// replication is ours (the node's /stats section, CONTRACTS C),
	// absent as from NSQ when the node does not replicate
	return struct {
		Node          string                   `json:"node"`
		Topics        []*TopicStats            `json:"topics"`
		TotalMessages int64                    `json:"total_messages"`
		TotalClients  int64                    `json:"total_clients"`
		Replication   *clusterinfo.Replication `json:"replication,omitempty"`
		Message       string                   `json:"message"`
	}{node, topics, totalMessages, totalClients, replication, warn.message()}, nil
}

// GET /api/counter
func (n *NSQAdmin) counterHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	opts := n.getOpts()
	ctx := req.Context()
	var warn warnings
	stats := map[string]*CounterStats{}
	producers, err := n.cluster.producers(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	if len(producers) > 0 {
		topics, err := n.cluster.nodeStats(ctx, producers, "", "", false)
		if err := warn.absorb(n, err); err != nil {
			return nil, err
		}
		for _, t := range topics {
			for _, c := range t.Channels {
				key := t.TopicName + ":" + c.ChannelName + ":" + t.Node
				s, ok := stats[key]
				if !ok {
					s = &CounterStats{Node: t.Node, TopicName: t.TopicName, ChannelName: c.ChannelName}
					stats[key] = s
				}
				s.MessageCount += c.MessageCount
			}
		}
	}
	return struct {
		Stats   map[string]*CounterStats `json:"stats"`
		Message string                   `json:"message"`
	}{stats, warn.message()}, nil
}

// OverviewTopic is one topic of GET /api/overview: the front page's row.
type OverviewTopic struct {
	TopicName    string             `json:"topic_name"`
	Depth        int64              `json:"depth"`   // the topic's own queue
	Backlog      int64              `json:"backlog"` // depth + every channel's depth
	InFlight     int64              `json:"in_flight_count"`
	Deferred     int64              `json:"deferred_count"`
	MessageCount int64              `json:"message_count"`
	Rate         *float64           `json:"rate"` // messages/s published, null until two samples exist
	ChannelCount int                `json:"channel_count"`
	NodeCount    int                `json:"node_count"`
	ClientCount  int                `json:"client_count"`
	Paused       bool               `json:"paused"`
	Growing      bool               `json:"growing"` // the backlog has been rising
	Channels     []*OverviewChannel `json:"channels"`
}

// OverviewChannel is one channel in GET /api/overview.
type OverviewChannel struct {
	ChannelName  string   `json:"channel_name"`
	Depth        int64    `json:"depth"`
	InFlight     int64    `json:"in_flight_count"`
	Deferred     int64    `json:"deferred_count"`
	MessageCount int64    `json:"message_count"`
	RequeueCount int64    `json:"requeue_count"`
	TimeoutCount int64    `json:"timeout_count"`
	ClientCount  int      `json:"client_count"`
	Paused       bool     `json:"paused"`
	Rate         *float64 `json:"rate"`
	Growing      bool     `json:"growing"` // depth has been rising over the last samples
}

// GET /api/overview: every topic with its counts, rate, paused state and
// channels, and which channels' depth is growing (our extension; NSQ's
// front page lists only names).
func (n *NSQAdmin) overviewHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	opts := n.getOpts()
	ctx := req.Context()
	var warn warnings
	var (
		names, producersErr = []string(nil), error(nil)
		producers           []*Producer
		topicsErr           error
		wg                  sync.WaitGroup
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		names, topicsErr = n.cluster.topics(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	}()
	go func() {
		defer wg.Done()
		producers, producersErr = n.cluster.producers(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	}()
	wg.Wait()
	if err := warn.absorb(n, topicsErr); err != nil {
		return nil, err
	}
	if err := warn.absorb(n, producersErr); err != nil {
		return nil, err
	}
	var nodes []*TopicStats
	if len(producers) > 0 {
		var err error
		nodes, err = n.cluster.nodeStats(ctx, producers, "", "", false)
		if err := warn.absorb(n, err); err != nil {
			return nil, err
		}
	}
	for _, t := range nodes {
		names = append(names, t.TopicName)
	}
	topics := []*OverviewTopic{}
	for _, name := range clusterinfo.Union([][]string{names}) {
		topics = append(topics, n.overviewTopic(aggregateTopic(name, nodes)))
	}
	return struct {
		Topics    []*OverviewTopic `json:"topics"`
		NodeCount int              `json:"node_count"`
		Samples   int              `json:"history_samples"`
		Message   string           `json:"message"`
	}{topics, len(producers), n.history.samples(), warn.message()}, nil
}

func (n *NSQAdmin) overviewTopic(agg *TopicStats) *OverviewTopic {
	tr := n.history.trend(seriesKey{agg.TopicName, ""})
	ot := &OverviewTopic{
		TopicName:    agg.TopicName,
		Depth:        agg.Depth,
		Backlog:      agg.Depth,
		MessageCount: agg.MessageCount,
		Rate:         tr.Rate,
		ChannelCount: len(agg.Channels),
		NodeCount:    len(agg.Nodes),
		Paused:       agg.Paused,
		Growing:      tr.Growing,
		Channels:     []*OverviewChannel{},
	}
	trends := n.history.channelTrends(agg.TopicName)
	for _, c := range agg.Channels {
		ctr := trends[c.ChannelName]
		ot.Backlog += c.Depth
		ot.InFlight += c.InFlightCount
		ot.Deferred += c.DeferredCount
		ot.ClientCount += c.ClientCount
		ot.Channels = append(ot.Channels, &OverviewChannel{
			ChannelName:  c.ChannelName,
			Depth:        c.Depth,
			InFlight:     c.InFlightCount,
			Deferred:     c.DeferredCount,
			MessageCount: c.MessageCount,
			RequeueCount: c.RequeueCount,
			TimeoutCount: c.TimeoutCount,
			ClientCount:  c.ClientCount,
			Paused:       c.Paused,
			Rate:         ctr.Rate,
			Growing:      ctr.Growing,
		})
	}
	return ot
}

// GET /api/history[?topic=<t>[&channel=<c>]][&since=<unix ms>]: the
// sampled series of the cluster, a topic or a channel (our extension).
func (n *NSQAdmin) historyHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, err
	}
	topic, _ := q.Get("topic")
	channel, _ := q.Get("channel")
	var since int64
	if s, ok := q.Get("since"); ok {
		if since, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_SINCE"}
		}
	}
	switch {
	case topic != "" && !names.IsValidTopicName(topic):
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TOPIC"}
	case channel != "" && topic == "":
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "MISSING_ARG_TOPIC"}
	case channel != "" && !names.IsValidChannelName(channel):
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_CHANNEL"}
	}
	opts := n.getOpts()
	key := seriesKey{topic, channel}
	resp := struct {
		Topic      string           `json:"topic"`
		Channel    string           `json:"channel"`
		IntervalMs int64            `json:"interval_ms"`
		DurationMs int64            `json:"duration_ms"`
		Points     []HistoryPoint   `json:"points"`
		Trend      Trend            `json:"trend"`
		Channels   map[string]Trend `json:"channels,omitempty"`
		Message    string           `json:"message"`
	}{
		Topic:      topic,
		Channel:    channel,
		IntervalMs: opts.HistoryInterval.Milliseconds(),
		DurationMs: opts.HistoryDuration.Milliseconds(),
		Points:     n.history.points(key, since),
		Trend:      n.history.trend(key),
	}
	if topic != "" && channel == "" {
		resp.Channels = n.history.channelTrends(topic)
	}
	return resp, nil
}
