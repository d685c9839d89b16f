package nsqadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/names"
)

// Channel operations beyond NSQ (see docs/operations.md): the dead-letter
// setting, the dead-letter ledger with replay, and peek, fanned out to
// every nsqd of the topic. A node that does not have these routes (NSQ's
// own nsqd) is named in the reply's "message" and otherwise left out.
//
//	GET  <bp>/api/topics/:topic/:channel/config
//	POST <bp>/api/topics/:topic/:channel/config      {"max_attempts":N,"dead_letter_topic":"t"}
//	GET  <bp>/api/topics/:topic/:channel/dead
//	POST <bp>/api/topics/:topic/:channel/dead/replay {"letters":[{"node":..,"id":..}]} | {"all":true}, "to"
//	GET  <bp>/api/topics/:topic/:channel/peek[?n=N]
//	GET  <bp>/api/lag/:topic

// nodeReply is one node's answer to an operation.
type nodeReply struct {
	node   string
	status int
	body   []byte
	err    error
}

// opsProducers finds topic's nsqds: 404 TOPIC_NOT_FOUND when every
// lookupd says so or none has it, 502 when none answered.
func (n *NSQAdmin) opsProducers(ctx context.Context, warn *warnings, topic string) ([]*Producer, error) {
	opts := n.getOpts()
	producers, err := n.cluster.topicProducers(ctx, topic, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	var all *clusterinfo.AllFailedError
	if errors.As(err, &all) && len(all.Errs) > 0 {
		unknown := true
		for _, e := range all.Errs {
			unknown = unknown && strings.Contains(e.Error(), "TOPIC_NOT_FOUND")
		}
		if unknown {
			return nil, httpapi.Err{Code: http.StatusNotFound, Text: "TOPIC_NOT_FOUND"}
		}
	}
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	if len(producers) == 0 {
		return nil, httpapi.Err{Code: http.StatusNotFound, Text: "TOPIC_NOT_FOUND"}
	}
	return producers, nil
}

// eachNode sends the request to every nsqd of topic at once.
func (n *NSQAdmin) eachNode(ctx context.Context, warn *warnings, topic, method, path string, q url.Values, body []byte) ([]nodeReply, error) {
	producers, err := n.opsProducers(ctx, warn, topic)
	if err != nil {
		return nil, err
	}
	return n.callEach(ctx, producers, method, path, q, body), nil
}

// callEach sends the request to every producer at once; the replies are
// in producer order.
func (n *NSQAdmin) callEach(ctx context.Context, producers []*Producer, method, path string, q url.Values, body []byte) []nodeReply {
	out := make([]nodeReply, len(producers))
	var wg sync.WaitGroup
	for i, p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &out[i]
			r.node = p.HTTPAddress()
			req, err := http.NewRequestWithContext(ctx, method, clusterinfo.Endpoint(p.callAddress(), path, q), bytes.NewReader(body))
			if err != nil {
				r.err = err
				return
			}
			req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
			resp, err := n.client.HTTP().Do(req)
			if err != nil {
				r.err = fmt.Errorf("%s %s: %w", method, r.node, err)
				return
			}
			defer resp.Body.Close()
			r.status = resp.StatusCode
			r.body, r.err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		}()
	}
	wg.Wait()
	return out
}

// sortOut puts the answers of eachNode into ok (by node) and turns the
// rest into warnings: a 404 NOT_FOUND route is a node without the
// feature, a 404 CHANNEL_NOT_FOUND a node without the channel (skipped
// silently). A 400 from any node is returned as the reply's error.
func sortOut(replies []nodeReply, warn *warnings) ([]nodeReply, error) {
	var ok []nodeReply
	for _, r := range replies {
		msg := upstreamMessage(r.body)
		switch {
		case r.err != nil:
			*warn = append(*warn, r.err.Error())
		case r.status == http.StatusOK:
			ok = append(ok, r)
		case r.status == http.StatusBadRequest:
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: msg}
		case r.status == http.StatusNotFound && (msg == "CHANNEL_NOT_FOUND" || msg == "TOPIC_NOT_FOUND"):
		case r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed:
			*warn = append(*warn, r.node+": this nsqd has no dead-letter or peek support")
		default:
			*warn = append(*warn, fmt.Sprintf("%s: %d %s", r.node, r.status, msg))
		}
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].node < ok[j].node })
	return ok, nil
}

func upstreamMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	return string(bytes.TrimSpace(body))
}

// opsReply is the shape of every reply: one entry per node that has the
// channel, and the warnings.
type opsReply struct {
	Topic   string            `json:"topic"`
	Channel string            `json:"channel"`
	Nodes   []json.RawMessage `json:"nodes"`
	Message string            `json:"message"`
}

// withNode adds "node" to a node's JSON object.
func withNode(node string, body []byte) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		obj = map[string]json.RawMessage{}
	}
	obj["node"], _ = json.Marshal(node)
	out, _ := json.Marshal(obj)
	return out
}

func (n *NSQAdmin) channelOp(req *http.Request, ps httprouter.Params, method, path string, q url.Values, body []byte) (any, error) {
	topic, channel := ps.ByName("topic"), ps.ByName("channel")
	if !names.IsValidTopicName(topic) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TOPIC"}
	}
	if !names.IsValidChannelName(channel) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_CHANNEL"}
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("topic", topic)
	q.Set("channel", channel)
	var warn warnings
	replies, err := n.eachNode(req.Context(), &warn, topic, method, path, q, body)
	if err != nil {
		return nil, err
	}
	ok, err := sortOut(replies, &warn)
	if err != nil {
		return nil, err
	}
	if len(ok) == 0 && len(warn) == 0 {
		return nil, httpapi.Err{Code: http.StatusNotFound, Text: "CHANNEL_NOT_FOUND"}
	}
	if len(ok) == 0 {
		return nil, httpapi.Err{Code: http.StatusBadGateway, Text: "UPSTREAM_ERROR: " + warn.message()}
	}
	out := opsReply{Topic: topic, Channel: channel, Nodes: []json.RawMessage{}, Message: warn.message()}
	for _, r := range ok {
		out.Nodes = append(out.Nodes, withNode(r.node, r.body))
	}
	return out, nil
}

// GET and POST /api/topics/:topic/:channel/config. A POST is checked
// here first (the same rules as nsqd's), so a bad one reaches no node.
func (n *NSQAdmin) channelConfigHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	if req.Method == http.MethodGet {
		return n.channelOp(req, ps, http.MethodGet, "/channel/config", nil, nil)
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, maxBodySize))
	if err != nil {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_BODY"}
	}
	var body struct {
		MaxAttempts     *int    `json:"max_attempts"`
		DeadLetterTopic *string `json:"dead_letter_topic"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if dec.Decode(&body) != nil {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_BODY"}
	}
	if m := body.MaxAttempts; m != nil && (*m < 0 || *m > 65535) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_MAX_ATTEMPTS"}
	}
	if d := body.DeadLetterTopic; d != nil && *d != "" {
		if !names.IsValidTopicName(*d) {
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_DEAD_LETTER_TOPIC"}
		}
		if *d == ps.ByName("topic") {
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "DEAD_LETTER_TOPIC_LOOP"}
		}
	}
	reply, err := n.channelOp(req, ps, http.MethodPost, "/channel/config", nil, data)
	if err == nil {
		n.notify("channel_config", ps.ByName("topic"), ps.ByName("channel"), "", req)
	}
	return reply, err
}

// GET /api/topics/:topic/:channel/dead: every node's ledger.
func (n *NSQAdmin) channelDeadHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	return n.channelOp(req, ps, http.MethodGet, "/channel/dead", nil, nil)
}

// GET /api/topics/:topic/:channel/peek?n=N (1..100, default 10).
func (n *NSQAdmin) channelPeekHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	q := url.Values{}
	if v := req.URL.Query().Get("n"); v != "" {
		if k, err := strconv.Atoi(v); err != nil || k < 1 || k > 100 {
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_N"}
		}
		q.Set("n", v)
	}
	return n.channelOp(req, ps, http.MethodGet, "/channel/peek", q, nil)
}

// POST /api/topics/:topic/:channel/dead/replay: {"letters": [{"node":
// "host:port", "id": "..."}]} replays those (each on its node), {"all":
// true} every recorded dead letter on every node; "to" is "topic"
// (default) or "channel", as for nsqd.
func (n *NSQAdmin) channelReplayHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	var body struct {
		Letters []struct {
			Node string `json:"node"`
			ID   string `json:"id"`
		} `json:"letters"`
		All bool   `json:"all"`
		To  string `json:"to"`
	}
	if err := readJSON(req, &body); err != nil {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_BODY"}
	}
	if body.To != "" && body.To != "topic" && body.To != "channel" {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TO"}
	}
	if body.All == (len(body.Letters) > 0) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "MISSING_ARG_IDS"}
	}
	perNode := map[string][]string{}
	for _, l := range body.Letters {
		perNode[l.Node] = append(perNode[l.Node], l.ID)
	}
	topic, channel := ps.ByName("topic"), ps.ByName("channel")
	var warn warnings
	producers, err := n.opsProducers(req.Context(), &warn, topic)
	if err != nil {
		return nil, err
	}
	replayed := 0
	for _, p := range producers {
		node := p.HTTPAddress()
		nb := map[string]any{"to": body.To}
		if body.All {
			nb["all"] = true
		} else if ids := perNode[node]; len(ids) > 0 {
			nb["ids"] = ids
			delete(perNode, node)
		} else {
			continue
		}
		data, _ := json.Marshal(nb)
		var r struct {
			Replayed int `json:"replayed"`
		}
		err := n.client.Do(req.Context(), http.MethodPost,
			clusterinfo.Endpoint(p.callAddress(), "/channel/dead/replay", channelQuery(topic, channel)), data, &r)
		if err != nil && !body.All {
			warn = append(warn, fmt.Sprintf("%s: %s", node, err))
			continue
		}
		replayed += r.Replayed
	}
	for node := range perNode {
		warn = append(warn, node+": not a node of topic "+topic)
	}
	n.notify("replay_dead_letters", topic, channel, "", req)
	return struct {
		Replayed int    `json:"replayed"`
		Message  string `json:"message"`
	}{replayed, warn.message()}, nil
}

// GET /api/lag/:topic: per channel, over all nodes and per node,
// the oldest waiting message's age, the delivery→FIN latency and the
// dead-letter figures (see ChannelLag). Nodes running NSQ's nsqd report
// zeros and no latency.
func (n *NSQAdmin) topicLagHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	topic := ps.ByName("topic")
	if !names.IsValidTopicName(topic) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TOPIC"}
	}
	ctx := req.Context()
	var warn warnings
	producers, err := n.opsProducers(ctx, &warn, topic)
	if err != nil {
		return nil, err
	}
	nodes, err := n.cluster.nodeStats(ctx, producers, topic, "", false)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	chans := aggregateChannels(nodes)
	out := struct {
		Topic    string       `json:"topic"`
		Channels []ChannelLag `json:"channels"`
		Message  string       `json:"message"`
	}{Topic: topic, Channels: []ChannelLag{}}
	for _, c := range chans {
		c.finish()
		lag := c.lag
		sort.Slice(lag.Nodes, func(i, j int) bool { return lag.Nodes[i].Node < lag.Nodes[j].Node })
		out.Channels = append(out.Channels, lag)
	}
	sort.Slice(out.Channels, func(i, j int) bool { return out.Channels[i].ChannelName < out.Channels[j].ChannelName })
	out.Message = warn.message()
	return out, nil
}
