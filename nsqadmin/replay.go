package nsqadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/names"
)

// Replay from the log storage of our nsqd (CONTRACTS A and B, beyond NSQ):
//
//	POST <bp>/api/topics/:topic/:channel {"action":"rewind","to":"earliest|<unix ms>","dry_run":bool}
//	POST <bp>/api/topics {"topic":T,"channel":C,"start":"earliest|latest|<unix ms>","dry_run":bool}
//	GET  <bp>/api/replay/:topic
//
// Both actions go to every node of the topic whose /stats says
// "storage":"log"; nodes in diskqueue mode, and nsqds that do not say
// (NSQ's, which would take /channel/create?start= for a plain create),
// are left out with a warning. The reply is {"messages": total, "nodes":
// [{"node", "messages"}], "message": warnings}: messages is what will be
// delivered (again). When no node took it, the reply is the nodes' own
// refusal if they agree (400 CHANNEL_EXISTS, ...), else 502.

// replayNode is one node's share of a replay reply.
type replayNode struct {
	Node     string `json:"node"`
	Messages int64  `json:"messages"`
}

// replayReply is the reply of rewind and create-from.
type replayReply struct {
	Messages int64        `json:"messages"`
	Nodes    []replayNode `json:"nodes"`
	Message  string       `json:"message"`
}

// validPoint reports whether v is "earliest", a unix time in ms (digits
// only), or, when latest is allowed, "latest".
func validPoint(v string, latest bool) bool {
	switch {
	case v == "earliest", latest && v == "latest":
		return true
	case v == "" || len(v) > 19:
		return false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// replayNodes returns the topic's producers and each one's stats of the
// topic (only those that answered).
func (n *NSQAdmin) replayNodes(ctx context.Context, warn *warnings, topic string) ([]*Producer, []*TopicStats, error) {
	producers, err := n.opsProducers(ctx, warn, topic)
	if err != nil {
		return nil, nil, err
	}
	stats, err := n.cluster.nodeStats(ctx, producers, topic, "", false)
	if err := warn.absorb(n, err); err != nil {
		return nil, nil, err
	}
	return producers, stats, nil
}

// storageWarning says why a node is left out of a replay ("" when it
// runs the log storage).
func storageWarning(r TopicReplay) string {
	switch {
	case r.canReplay():
		return ""
	case r.Replicated:
		return r.Node + ": REPLAY_NOT_SUPPORTED_WITH_REPLICATION (this nsqd replicates its log)"
	}
	switch r.Storage {
	case clusterinfo.StorageDiskQueue:
		return r.Node + ": REPLAY_REQUIRES_LOG_STORAGE (this nsqd runs --storage=diskqueue)"
	}
	return r.Node + ": this nsqd has no replay support"
}

// replayReason explains, for a page, why a topic cannot be replayed.
func replayReason(topic string, nodes []*TopicStats) string {
	if len(nodes) == 0 {
		return fmt.Sprintf("no nsqd of topic %s answered", topic)
	}
	count := map[string]int{}
	replicated := 0
	for _, t := range nodes {
		if t.replay.Replicated {
			replicated++
			continue
		}
		count[t.replay.Storage]++
	}
	var parts []string
	if replicated > 0 {
		parts = append(parts, fmt.Sprintf("%d replicated, where nsqd does not replay", replicated))
	}
	if k := count[clusterinfo.StorageDiskQueue]; k > 0 {
		parts = append(parts, fmt.Sprintf("%d with --storage=diskqueue", k))
	}
	if k := count[""]; k > 0 {
		parts = append(parts, fmt.Sprintf("%d without replay support", k))
	}
	return fmt.Sprintf("replay needs nsqd's log storage (--storage=log) without replication, and no nsqd of topic %s runs it (%s)",
		topic, strings.Join(parts, ", "))
}

// GET /api/replay/:topic: whether the topic's nodes can replay, and
// since when they retain messages.
func (n *NSQAdmin) topicReplayHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	topic := ps.ByName("topic")
	if !names.IsValidTopicName(topic) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TOPIC"}
	}
	var warn warnings
	_, stats, err := n.replayNodes(req.Context(), &warn, topic)
	if err != nil {
		return nil, err
	}
	out := struct {
		Topic          string        `json:"topic"`
		Enabled        bool          `json:"enabled"`
		Reason         string        `json:"reason"`
		LogNodes       int           `json:"log_nodes"`
		RetainedFromMs int64         `json:"retained_from_ms"`
		Nodes          []TopicReplay `json:"nodes"`
		Message        string        `json:"message"`
	}{Topic: topic, Nodes: []TopicReplay{}}
	for _, t := range stats {
		r := t.replay
		out.Nodes = append(out.Nodes, r)
		if !r.canReplay() {
			continue
		}
		out.LogNodes++
		if r.RetainedFromMs > 0 && (out.RetainedFromMs == 0 || r.RetainedFromMs < out.RetainedFromMs) {
			out.RetainedFromMs = r.RetainedFromMs
		}
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Node < out.Nodes[j].Node })
	out.Enabled = out.LogNodes > 0
	if !out.Enabled {
		out.Reason = replayReason(topic, stats)
	}
	out.Message = warn.message()
	return out, nil
}

// rewindChannel moves topic/channel back to `to` on every node of the
// topic that has the channel and runs the log storage.
func (n *NSQAdmin) rewindChannel(req *http.Request, topic, channel, to string, dryRun bool) (any, error) {
	switch {
	case !names.IsValidTopicName(topic):
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TOPIC"}
	case !names.IsValidChannelName(channel):
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_CHANNEL"}
	case to == "":
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "MISSING_ARG_TO"}
	case !validPoint(to, false):
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_TO"}
	}
	ctx := req.Context()
	var warn warnings
	producers, stats, err := n.replayNodes(ctx, &warn, topic)
	if err != nil {
		return nil, err
	}
	var targets []*Producer
	withChannel := 0
	for _, t := range stats {
		if !hasChannel(t, channel) {
			continue
		}
		withChannel++
		if w := storageWarning(t.replay); w != "" {
			warn = append(warn, w)
			continue
		}
		if p := findProducer(producers, t.Node); p != nil {
			targets = append(targets, p)
		}
	}
	switch {
	case withChannel == 0 && len(warn) > 0:
		return nil, httpapi.Err{Code: http.StatusBadGateway, Text: "UPSTREAM_ERROR: " + strings.TrimPrefix(warn.message(), "WARNING: ")}
	case withChannel == 0:
		return nil, httpapi.Err{Code: http.StatusNotFound, Text: "CHANNEL_NOT_FOUND"}
	case len(targets) == 0:
		return nil, noReplayErr(stats)
	}
	q := channelQuery(topic, channel)
	q.Set("to", to)
	reply, err := n.replayCall(ctx, &warn, targets, "/channel/rewind", q, dryRun)
	if err != nil {
		return nil, err
	}
	if !dryRun {
		n.notify("rewind_channel", topic, channel, "", req)
	}
	return reply, nil
}

// createChannelFrom creates topic/channel at start of the retained log on
// every node of the topic that runs the log storage, then on every
// lookupd (as NSQ's create does).
func (n *NSQAdmin) createChannelFrom(req *http.Request, topic, channel, start string, dryRun bool) (any, error) {
	switch {
	case channel == "":
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "MISSING_ARG_CHANNEL"}
	case !validPoint(start, true):
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_START"}
	}
	ctx := req.Context()
	var warn warnings
	producers, stats, err := n.replayNodes(ctx, &warn, topic)
	if err != nil {
		return nil, err
	}
	var targets []*Producer
	for _, t := range stats {
		if w := storageWarning(t.replay); w != "" {
			warn = append(warn, w)
		} else if p := findProducer(producers, t.Node); p != nil {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		if len(stats) == 0 {
			return nil, httpapi.Err{Code: http.StatusBadGateway, Text: "UPSTREAM_ERROR: " + strings.TrimPrefix(warn.message(), "WARNING: ")}
		}
		return nil, noReplayErr(stats)
	}
	q := channelQuery(topic, channel)
	q.Set("start", start)
	reply, err := n.replayCall(ctx, &warn, targets, "/channel/create", q, dryRun)
	if err != nil || dryRun {
		return reply, err
	}
	calls := n.newCalls(ctx)
	for _, l := range n.getOpts().NSQLookupdHTTPAddresses {
		calls.post(l, "/channel/create", channelQuery(topic, channel))
	}
	warn.absorb(n, calls.wait())
	reply.Message = warn.message()
	n.notify("create_channel", topic, channel, "", req)
	return reply, nil
}

// noReplayErr is the refusal when no node can replay: nsqd's own
// REPLAY_NOT_SUPPORTED_WITH_REPLICATION when a node has a log but
// replicates it, else REPLAY_REQUIRES_LOG_STORAGE.
func noReplayErr(stats []*TopicStats) error {
	for _, t := range stats {
		if t.replay.Storage == clusterinfo.StorageLog && t.replay.Replicated {
			return httpapi.Err{Code: http.StatusBadRequest, Text: "REPLAY_NOT_SUPPORTED_WITH_REPLICATION"}
		}
	}
	return httpapi.Err{Code: http.StatusBadRequest, Text: "REPLAY_REQUIRES_LOG_STORAGE"}
}

func hasChannel(t *TopicStats, channel string) bool {
	for _, c := range t.Channels {
		if c.ChannelName == channel {
			return true
		}
	}
	return false
}

// replayCall POSTs path?q (with dry_run=true for a dry run) to every
// target and sums their {"messages": N}. A node's failure is a warning
// while another node took the call; when none did, the nodes' common
// 4xx refusal is the reply, else 502 with every failure.
func (n *NSQAdmin) replayCall(ctx context.Context, warn *warnings, targets []*Producer, path string, q url.Values, dryRun bool) (*replayReply, error) {
	if dryRun {
		q.Set("dry_run", "true")
	}
	out := &replayReply{Nodes: []replayNode{}}
	refusals := map[httpapi.Err]bool{}
	failed := false
	for _, r := range n.callEach(ctx, targets, http.MethodPost, path, q, nil) {
		var body struct {
			Messages *int64 `json:"messages"`
		}
		msg := upstreamMessage(r.body)
		switch {
		case r.err != nil:
			failed = true
			*warn = append(*warn, r.err.Error())
		case r.status == http.StatusOK && json.Unmarshal(r.body, &body) == nil && body.Messages != nil:
			out.Nodes = append(out.Nodes, replayNode{Node: r.node, Messages: *body.Messages})
			out.Messages += *body.Messages
		case r.status == http.StatusOK:
			failed = true
			*warn = append(*warn, fmt.Sprintf("%s: unexpected reply %q", r.node, truncateText(msg, 100)))
		case r.status == http.StatusNotFound && msg == "NOT_FOUND", r.status == http.StatusMethodNotAllowed:
			failed = true
			*warn = append(*warn, r.node+": this nsqd has no replay support")
		case r.status >= 400 && r.status < 500:
			refusals[httpapi.Err{Code: r.status, Text: msg}] = true
			*warn = append(*warn, fmt.Sprintf("%s: %s", r.node, msg))
		default:
			failed = true
			*warn = append(*warn, fmt.Sprintf("%s: %d %s", r.node, r.status, msg))
		}
	}
	if len(out.Nodes) == 0 {
		if len(refusals) == 1 && !failed {
			for e := range refusals {
				return nil, e
			}
		}
		return nil, httpapi.Err{Code: http.StatusBadGateway, Text: "UPSTREAM_ERROR: " + strings.TrimPrefix(warn.message(), "WARNING: ")}
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Node < out.Nodes[j].Node })
	out.Message = warn.message()
	return out, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
