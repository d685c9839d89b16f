package nsqadmin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
)

// maxBodySize bounds the JSON body of an admin action.
const maxBodySize = 1 << 20

// readJSON decodes req's body into v; the error text is the decoder's.
func readJSON(req *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(req.Body, maxBodySize)).Decode(v)
}

// message is the reply of a successful admin action.
type message struct {
	Message string `json:"message"`
}

// actionCalls runs a set of upstream POSTs concurrently and collects
// their failures. Safe for concurrent use.
type actionCalls struct {
	c    *cluster
	ctx  context.Context
	wg   sync.WaitGroup
	mu   sync.Mutex // guards errs
	errs []error    // one per call made, nil when it succeeded
}

// post calls http://<addr><path>?<q> in the background.
func (a *actionCalls) post(addr, path string, q url.Values) {
	a.mu.Lock()
	i := len(a.errs)
	a.errs = append(a.errs, nil)
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.c.Post(a.ctx, clusterinfo.Endpoint(addr, path, q))
		a.mu.Lock()
		a.errs[i] = err
		a.mu.Unlock()
	}()
}

// wait waits for the calls: nil if all succeeded, else a
// *clusterinfo.PartialError with the failures in call order. As in NSQ,
// failed admin calls are a warning even when every one failed (the
// reply is 200 with "WARNING: ..."); only not finding whom to call is a
// 502.
func (a *actionCalls) wait() error {
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	var failed []error
	for _, err := range a.errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &clusterinfo.PartialError{Errs: failed}
}

// fail records errors met between the calls (a partial producer lookup),
// in sequence with them.
func (a *actionCalls) fail(errs ...error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, errs...)
}

// producersFor finds topic's nsqds for an action: a partial failure
// becomes a warning, a total one the error returned.
func (n *NSQAdmin) producersFor(ctx context.Context, warn *warnings, topic string) ([]*Producer, error) {
	opts := n.getOpts()
	producers, err := n.cluster.topicProducers(ctx, topic, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	return producers, nil
}

func (n *NSQAdmin) newCalls(ctx context.Context) *actionCalls {
	return &actionCalls{c: n.cluster, ctx: ctx}
}

func (n *NSQAdmin) notify(action, topic, channel, node string, req *http.Request) {
	n.logf(lg.INFO, "admin action %s topic=%q channel=%q node=%q from %s", action, topic, channel, node, req.RemoteAddr)
	n.notifier.send(newAdminAction(action, topic, channel, node, n.hostname, req))
}

func topicQuery(topic string) url.Values { return url.Values{"topic": {topic}} }

func channelQuery(topic, channel string) url.Values {
	return url.Values{"topic": {topic}, "channel": {channel}}
}

// POST /api/topics {"topic":"t","channel":"c"}; with "start" (and
// "dry_run") a channel from the retained log (replay.go).
func (n *NSQAdmin) createTopicChannelHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	var body struct {
		Topic   string  `json:"topic"`
		Channel string  `json:"channel"`
		Start   *string `json:"start"`
		DryRun  bool    `json:"dry_run"`
	}
	if err := readJSON(req, &body); err != nil {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: err.Error()}
	}
	if !names.IsValidTopicName(body.Topic) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_TOPIC"}
	}
	if body.Channel != "" && !names.IsValidChannelName(body.Channel) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_CHANNEL"}
	}
	if body.Start != nil {
		return n.createChannelFrom(req, body.Topic, body.Channel, *body.Start, body.DryRun)
	}
	lookupds := n.getOpts().NSQLookupdHTTPAddresses
	var warn warnings
	ctx := req.Context()

	// NSQ's order: the topic on every lookupd, then the channel on every
	// lookupd, then on every nsqd that lookupds list for the topic; one
	// warning for all failed calls, notifications only when there was
	// somebody to ask
	calls := n.newCalls(ctx)
	for _, l := range lookupds {
		calls.post(l, "/topic/create", topicQuery(body.Topic))
	}
	if body.Channel != "" {
		calls.wg.Wait()
		for _, l := range lookupds {
			calls.post(l, "/channel/create", channelQuery(body.Topic, body.Channel))
		}
		calls.wg.Wait()
		producers, err := n.cluster.lookupdTopicProducers(ctx, body.Topic, lookupds)
		switch {
		case len(lookupds) == 0: // nsqd mode: NSQ cannot find the nsqds to create it on
			err = &clusterinfo.AllFailedError{Kind: "nsqlookupd"}
			fallthrough
		case err != nil && !clusterinfo.IsPartial(err):
			return nil, warn.absorb(n, err)
		case err != nil:
			calls.fail(clusterinfo.Errors(err)...)
		}
		for _, p := range producers {
			calls.post(p.callAddress(), "/channel/create", channelQuery(body.Topic, body.Channel))
		}
	}
	warn.absorb(n, calls.wait())
	n.notify("create_topic", body.Topic, "", "", req)
	if body.Channel != "" {
		n.notify("create_channel", body.Topic, body.Channel, "", req)
	}
	return message{warn.message()}, nil
}

// POST /api/topics/:topic {"action":"pause"|"unpause"|"empty"}
func (n *NSQAdmin) topicActionHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	return n.topicChannelAction(req, ps.ByName("topic"), "")
}

// POST /api/topics/:topic/:channel {"action":"pause"|"unpause"|"empty"},
// or {"action":"rewind","to":...,"dry_run":bool} (replay.go)
func (n *NSQAdmin) channelActionHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	return n.topicChannelAction(req, ps.ByName("topic"), ps.ByName("channel"))
}

func (n *NSQAdmin) topicChannelAction(req *http.Request, topic, channel string) (any, error) {
	var body struct {
		Action string `json:"action"`
		To     string `json:"to"`
		DryRun bool   `json:"dry_run"`
	}
	if err := readJSON(req, &body); err != nil {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: err.Error()}
	}
	switch body.Action {
	case "rewind":
		if channel == "" {
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ACTION"}
		}
		return n.rewindChannel(req, topic, channel, body.To, body.DryRun)
	case "pause", "unpause", "empty":
	default:
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ACTION"}
	}
	kind, path, q := "topic", "/topic/"+body.Action, topicQuery(topic)
	if channel != "" {
		kind, path, q = "channel", "/channel/"+body.Action, channelQuery(topic, channel)
	}
	// NSQ notifies before it looks at the upstream result
	n.notify(body.Action+"_"+kind, topic, channel, "", req)

	var warn warnings
	producers, err := n.producersFor(req.Context(), &warn, topic)
	if err != nil {
		return nil, err
	}
	calls := n.newCalls(req.Context())
	for _, p := range producers {
		calls.post(p.callAddress(), path, q)
	}
	warn.absorb(n, calls.wait())
	return message{warn.message()}, nil
}

// DELETE /api/topics/:topic
func (n *NSQAdmin) deleteTopicHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	return n.deleteTopicChannel(req, ps.ByName("topic"), "")
}

// DELETE /api/topics/:topic/:channel
func (n *NSQAdmin) deleteChannelHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	return n.deleteTopicChannel(req, ps.ByName("topic"), ps.ByName("channel"))
}

// deleteTopicChannel finds the producers first (once the lookupds forget
// the topic they can no longer be found), then deletes on every lookupd
// and every producer.
func (n *NSQAdmin) deleteTopicChannel(req *http.Request, topic, channel string) (any, error) {
	kind, path, q := "topic", "/topic/delete", topicQuery(topic)
	if channel != "" {
		kind, path, q = "channel", "/channel/delete", channelQuery(topic, channel)
	}
	var warn warnings
	producers, err := n.producersFor(req.Context(), &warn, topic)
	if err != nil {
		return nil, err
	}
	calls := n.newCalls(req.Context())
	for _, l := range n.getOpts().NSQLookupdHTTPAddresses {
		calls.post(l, path, q)
	}
	calls.wg.Wait() // NSQ: the lookupds first, so nsqds' UNREGISTERs find nothing to revive
	for _, p := range producers {
		calls.post(p.callAddress(), path, q)
	}
	warn.absorb(n, calls.wait())
	n.notify("delete_"+kind, topic, channel, "", req)
	return message{warn.message()}, nil
}

// DELETE /api/nodes/:node {"topic":"t"}: tombstone the topic for that
// node on every lookupd, then delete the topic on the node.
func (n *NSQAdmin) tombstoneTopicProducerHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	node := ps.ByName("node")
	var body struct {
		Topic string `json:"topic"`
	}
	if err := readJSON(req, &body); err != nil {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_BODY"}
	}
	if !names.IsValidTopicName(body.Topic) {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_TOPIC"}
	}
	var warn warnings
	// Only a node the cluster reports is asked anything: the address in
	// the URL never becomes a request target of its own (beyond NSQ,
	// which calls whatever address it is given).
	opts := n.getOpts()
	producers, err := n.cluster.producers(req.Context(), opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	p := findProducer(producers, node)
	if p == nil {
		return nil, httpapi.Err{Code: http.StatusNotFound, Text: "NODE_NOT_FOUND"}
	}
	calls := n.newCalls(req.Context())
	for _, l := range opts.NSQLookupdHTTPAddresses {
		calls.post(l, "/topic/tombstone", url.Values{"topic": {body.Topic}, "node": {node}})
	}
	calls.wg.Wait()
	// as in NSQ, a node that cannot be asked is 502 "failed to query any
	// nsqd" (after the tombstones were set)
	nodes, err := n.cluster.NSQDNodes(req.Context(), []string{p.callAddress()}, "")
	if err != nil && !clusterinfo.IsPartial(err) {
		return nil, warn.absorb(n, err)
	}
	for _, nd := range nodes {
		calls.post(nd.Addr, "/topic/delete", topicQuery(body.Topic))
	}
	warn.absorb(n, calls.wait())
	n.notify("tombstone_topic_producer", body.Topic, "", node, req)
	return message{warn.message()}, nil
}
