package nsqd

import (
	"context"
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
)

// Replay (--storage=log): POST /channel/create with start= creates a
// channel at a point of the retained log, POST /channel/rewind moves an
// existing channel back. Both answer {"messages": N} and take
// dry_run=true. The position is a log record, so it survives kill -9.
//
// In-flight messages at a rewind: the channel forgets its in-memory
// messages (queued, in flight, deferred) as /channel/empty does, and the
// rewind never moves the floor forward, so every one of them is at or
// after the new floor and is delivered again from the log, in publish
// order. A FIN, REQ or TOUCH for a delivery made before the rewind gets
// the usual non-fatal E_FIN_FAILED (E_REQ_FAILED, E_TOUCH_FAILED): that
// delivery no longer exists. A requeued message loses its delay; a DPUB
// one keeps its due time.

// replyMessages is the reply of both routes.
type replyMessages struct {
	Messages uint64 `json:"messages"`
}

// replayRequest reads the parameters both routes share: names with the
// /channel/* codes, the position under posKey (badCode when missing or
// malformed) and dry_run. In diskqueue mode, or for an #ephemeral topic
// (never in the log), it is 400 REPLAY_REQUIRES_LOG_STORAGE; with
// replication 400 REPLAY_NOT_SUPPORTED_WITH_REPLICATION.
func (s *httpServer) replayRequest(req *http.Request, posKey, badCode string) (brokerlog.ReplayRequest, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return brokerlog.ReplayRequest{}, err
	}
	var r brokerlog.ReplayRequest
	var ok bool
	if r.Topic, ok = q.Get("topic"); !ok {
		return r, errBadRequest("MISSING_ARG_TOPIC")
	}
	if !names.IsValidTopicName(r.Topic) {
		return r, errBadRequest("INVALID_ARG_TOPIC")
	}
	if r.Channel, ok = q.Get("channel"); !ok {
		return r, errBadRequest("MISSING_ARG_CHANNEL")
	}
	if !names.IsValidChannelName(r.Channel) {
		return r, errBadRequest("INVALID_ARG_CHANNEL")
	}
	if !s.n.lm.logged(r.Topic) {
		return r, errBadRequest("REPLAY_REQUIRES_LOG_STORAGE")
	}
	if s.n.lm.repl != nil {
		// a channel is a cursor per group there; not built yet
		return r, errBadRequest("REPLAY_NOT_SUPPORTED_WITH_REPLICATION")
	}
	if r.Position, ok = q.Get(posKey); !ok || r.Position == "" {
		return r, errBadRequest(badCode)
	}
	switch v, _ := q.Get("dry_run"); v {
	case "", "false", "0":
	case "true", "1":
		r.DryRun = true
	default:
		return r, errBadRequest("INVALID_DRY_RUN")
	}
	return r, nil
}

// replayError maps the engine's errors onto HTTP codes.
func (s *httpServer) replayError(err error, badCode string) error {
	switch {
	case errors.Is(err, brokerlog.ErrBadPosition):
		return errBadRequest(badCode)
	case errors.Is(err, brokerlog.ErrNoTopic):
		return errNotFound("TOPIC_NOT_FOUND")
	case errors.Is(err, brokerlog.ErrNoChannel):
		return errNotFound("CHANNEL_NOT_FOUND")
	case errors.Is(err, brokerlog.ErrChannelExists):
		return errBadRequest("CHANNEL_EXISTS")
	}
	s.n.log.Logf(lg.ERROR, "LOG: replay failed: %s", err)
	return errInternal()
}

// channelCreateAt is POST /channel/create with start=.
func (s *httpServer) channelCreateAt(req *http.Request) (any, error) {
	r, err := s.replayRequest(req, "start", "INVALID_START")
	if err != nil {
		return nil, err
	}
	r.Create = true
	t, err := s.n.GetExistingTopic(r.Topic)
	if err != nil {
		return nil, errNotFound("TOPIC_NOT_FOUND")
	}
	dry := r.DryRun
	r.DryRun = true
	res, err := s.n.lm.eng.Replay(req.Context(), r)
	if err != nil {
		return nil, s.replayError(err, "INVALID_START")
	}
	if _, exists := t.getExistingChannel(r.Channel); exists {
		return nil, errBadRequest("CHANNEL_EXISTS")
	}
	if !dry {
		r.DryRun = false
		if res, err = s.n.lm.eng.Replay(context.Background(), r); err != nil {
			return nil, s.replayError(err, "INVALID_START")
		}
		if _, err := t.GetChannel(r.Channel); err != nil {
			return nil, errUnavailable("EXITING")
		}
		s.n.log.Logf(lg.INFO, "TOPIC(%s): channel(%s) created at message %d (%d to deliver)", r.Topic, r.Channel, res.Seq, res.Messages)
	}
	return replyMessages{res.Messages}, nil
}

// channelRewind is POST /channel/rewind.
func (s *httpServer) channelRewind(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	r, err := s.replayRequest(req, "to", "INVALID_TO")
	if err != nil {
		return nil, err
	}
	dry := r.DryRun
	r.DryRun = true
	res, err := s.n.lm.eng.Replay(req.Context(), r)
	if err != nil {
		return nil, s.replayError(err, "INVALID_TO")
	}
	t, err := s.n.GetExistingTopic(r.Topic)
	if err != nil {
		return nil, errNotFound("TOPIC_NOT_FOUND")
	}
	c, ok := t.getExistingChannel(r.Channel)
	if !ok {
		return nil, errNotFound("CHANNEL_NOT_FOUND")
	}
	if !dry {
		r.DryRun = false
		if res, err = c.rewindLog(r); err != nil {
			return nil, s.replayError(err, "INVALID_TO")
		}
		s.n.log.Logf(lg.INFO, "CHANNEL(%s:%s): rewound to message %d, floor %d (%d to deliver)", r.Topic, r.Channel, res.At, res.Seq, res.Messages)
	}
	return replyMessages{res.Messages}, nil
}

// rewindLog rewinds the channel's cursor. Memory is dropped first, so no
// FIN or REQ of an older delivery can be recorded after the rewind (FIN
// and REQ are recorded under c.mu), and kept empty until the rewind is
// applied (rewinding), so nothing read from the old position is handed
// out; then the pump reads again from the new floor.
func (c *Channel) rewindLog(r brokerlog.ReplayRequest) (brokerlog.ReplayResult, error) {
	c.mu.Lock()
	c.rewinding++
	c.epoch++
	c.dropMemoryLocked()
	clients := make([]*client, 0, len(c.clients))
	for _, cl := range c.clients {
		clients = append(clients, cl)
	}
	c.mu.Unlock()
	for _, cl := range clients {
		cl.resetInFlight()
	}
	res, err := c.lm.eng.Replay(context.Background(), r)
	c.mu.Lock()
	c.rewinding--
	c.epoch++
	c.dropMemoryLocked()
	c.mu.Unlock()
	c.wantLog()
	c.wakeAll()
	return res, err
}
