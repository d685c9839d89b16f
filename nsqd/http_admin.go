package nsqd

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/version"
)

// anything else (and absence) true.
func queryBool(q httpapi.Query, key string) bool {
	v, ok := q.Get(key)
	if !ok {
		return true
	}
	return v != "false" && v != "0"
}

type statsResponse struct {
	Version   string         `json:"version"`
	Health    string         `json:"health"`
	StartTime int64          `json:"start_time"`
	Topics    []*TopicStats  `json:"topics"`
	Memory    *MemStats      `json:"memory,omitempty"`
	Producers []*ClientStats `json:"producers"`
	// Replication is absent without --replication-peers (CONTRACTS C).
	Replication *ReplicationStats `json:"replication,omitempty"`
}

func (s *httpServer) stats(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, err
	}
	format, _ := q.Get("format")
	topic, _ := q.Get("topic")
	channel, _ := q.Get("channel")
	withClients := queryBool(q, "include_clients")
	withMem := queryBool(q, "include_mem")

	health, _ := s.n.health()
	resp := statsResponse{
		Version:     version.Binary,
		Health:      health,
		StartTime:   s.n.startTime.Unix(),
		Topics:      s.n.getStats(statsFilter{topic: topic, channel: channel, clients: withClients}),
		Replication: s.n.replicationStats(),
	}
	if withMem {
		ms := memStats()
		resp.Memory = &ms
	}
	// like NSQ, a topic filter that matches nothing leaves producers
	// null too
	if withClients && (topic == "" || resp.Topics != nil) {
		resp.Producers = s.n.producerStats(topic)
	}
	if format == "json" {
		return resp, nil
	}
	return s.n.statsText(resp), nil
}

// channelFromQuery validates topic and channel with the /channel/* codes
// and returns the existing topic.
func (s *httpServer) channelFromQuery(req *http.Request) (*Topic, string, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, "", err
	}
	topicName, ok := q.Get("topic")
	if !ok {
		return nil, "", errBadRequest("MISSING_ARG_TOPIC")
	}
	if !names.IsValidTopicName(topicName) {
		return nil, "", errBadRequest("INVALID_ARG_TOPIC")
	}
	channelName, ok := q.Get("channel")
	if !ok {
		return nil, "", errBadRequest("MISSING_ARG_CHANNEL")
	}
	if !names.IsValidChannelName(channelName) {
		return nil, "", errBadRequest("INVALID_ARG_CHANNEL")
	}
	t, err := s.n.GetExistingTopic(topicName)
	if err != nil {
		return nil, "", errNotFound("TOPIC_NOT_FOUND")
	}
	return t, channelName, nil
}

// existingTopic looks up the topic parameter; validate decides whether an
// invalid name is 400 INVALID_TOPIC or simply not found (as NSQ does for
// delete and pause).
func (s *httpServer) existingTopic(req *http.Request, validate bool) (*Topic, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, err
	}
	name, ok := q.Get("topic")
	if !ok {
		return nil, errBadRequest("MISSING_ARG_TOPIC")
	}
	if validate && !names.IsValidTopicName(name) {
		return nil, errBadRequest("INVALID_TOPIC")
	}
	t, err := s.n.GetExistingTopic(name)
	if err != nil {
		return nil, errNotFound("TOPIC_NOT_FOUND")
	}
	return t, nil
}

func (s *httpServer) topicCreate(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	_, _, err := s.topicFromQuery(req)
	return nil, err
}

func (s *httpServer) topicDelete(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	t, err := s.existingTopic(req, false)
	if err != nil {
		return nil, err
	}
	if err := s.n.DeleteExistingTopic(t.name); err != nil {
		return nil, errNotFound("TOPIC_NOT_FOUND")
	}
	return nil, nil
}

func (s *httpServer) topicEmpty(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	t, err := s.existingTopic(req, true)
	if err != nil {
		return nil, err
	}
	if err := t.Empty(); err != nil {
		return nil, errInternal()
	}
	return nil, nil
}

func (s *httpServer) topicPause(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	t, err := s.existingTopic(req, false)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(req.URL.Path, "/unpause") {
		t.Unpause()
	} else {
		t.Pause()
	}
	s.persistPause()
	return nil, nil
}

func (s *httpServer) channelCreate(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	if _, ok := req.URL.Query()["start"]; ok {
		return s.channelCreateAt(req) // replay (logmode_replay.go)
	}
	t, name, err := s.channelFromQuery(req)
	if err != nil {
		return nil, err
	}
	if _, err := t.GetChannel(name); err != nil {
		return nil, errUnavailable("EXITING")
	}
	return nil, nil
}

func (s *httpServer) existingChannel(req *http.Request) (*Topic, *Channel, error) {
	t, name, err := s.channelFromQuery(req)
	if err != nil {
		return nil, nil, err
	}
	c, ok := t.getExistingChannel(name)
	if !ok {
		return nil, nil, errNotFound("CHANNEL_NOT_FOUND")
	}
	return t, c, nil
}

func (s *httpServer) channelDelete(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	t, c, err := s.existingChannel(req)
	if err != nil {
		return nil, err
	}
	if err := t.DeleteChannel(c.name); err != nil {
		return nil, errNotFound("CHANNEL_NOT_FOUND")
	}
	return nil, nil
}

func (s *httpServer) channelEmpty(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	_, c, err := s.existingChannel(req)
	if err != nil {
		return nil, err
	}
	if err := c.Empty(); err != nil {
		return nil, errInternal()
	}
	return nil, nil
}

func (s *httpServer) channelPause(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	_, c, err := s.existingChannel(req)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(req.URL.Path, "/unpause") {
		c.Unpause()
	} else {
		c.Pause()
	}
	s.persistPause()
	return nil, nil
}

// persistPause writes nsqd.dat before answering, as NSQ does, so a crash
// right after a (un)pause does not undo it.
func (s *httpServer) persistPause() {
	if err := s.n.persistMetadata(); err != nil {
		s.n.log.Logf(lg.ERROR, "failed to persist metadata: %s", err)
	}
}

// config reads (GET) or changes (PUT) an option by its config-file name.
// Only nsqlookupd_tcp_addresses and log_level can change at run time. As
// in NSQ, a string option is answered as raw text (its V1 encoding), any
// other value as JSON.
func (s *httpServer) config(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	opt := ps.ByName("opt")
	if req.Method == http.MethodPut {
		if err := s.setConfig(req, opt); err != nil {
			return nil, err
		}
	}
	s.n.optsMu.Lock()
	defer s.n.optsMu.Unlock()
	var value any
	switch {
	case opt == "statsd_prefix":
		value = s.n.statsdPrefix()
	case opt == "http_admin_token" && s.n.opts.HTTPAdminToken != "":
		value = "********" // never shown
	default:
		v, ok := cfg.Lookup(s.n.opts, opt)
		if !ok {
			return nil, errBadRequest("INVALID_OPTION")
		}
		value = v.Interface()
	}
	if str, ok := value.(string); ok {
		return str, nil
	}
	data, err := json.Marshal(value)
	if err != nil {
		return nil, errInternal()
	}
	return json.RawMessage(data), nil
}

// setConfig applies PUT /config/:opt. The body is checked (413
// INVALID_VALUE) before the option name, as in NSQ.
func (s *httpServer) setConfig(req *http.Request, opt string) error {
	body, err := io.ReadAll(io.LimitReader(req.Body, s.n.opts.MaxMsgSize+1))
	if err != nil {
		return errInternal()
	}
	if len(body) == 0 || int64(len(body)) > s.n.opts.MaxMsgSize {
		return errTooLarge("INVALID_VALUE")
	}
	switch opt {
	case "nsqlookupd_tcp_addresses":
		var addrs []string
		if err := json.Unmarshal(body, &addrs); err != nil {
			return errBadRequest("INVALID_VALUE")
		}
		s.n.optsMu.Lock()
		s.n.opts.NSQLookupdTCPAddresses = addrs
		s.n.optsMu.Unlock()
		s.n.lookup.setAddrs(addrs)
	case "log_level":
		level, ok := parseLogLevel(string(body))
		if !ok {
			return errBadRequest("INVALID_VALUE")
		}
		s.n.optsMu.Lock()
		s.n.opts.LogLevel = level
		s.n.optsMu.Unlock()
		s.n.log.SetLevel(level)
	default:
		return errBadRequest("INVALID_OPTION")
	}
	return nil
}

// parseLogLevel accepts exactly NSQ's level names in any case: no
// surrounding space, no "warning".
func parseLogLevel(s string) (lg.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return lg.DEBUG, true
	case "info":
		return lg.INFO, true
	case "warn":
		return lg.WARN, true
	case "error":
		return lg.ERROR, true
	case "fatal":
		return lg.FATAL, true
	}
	return 0, false
}

func (s *httpServer) setBlockRate(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	rate, err := strconv.Atoi(req.URL.Query().Get("rate"))
	if err != nil {
		return nil, httpapi.Err{Code: 400, Text: fmt.Sprintf("invalid block rate : %s", err)}
	}
	runtime.SetBlockProfileRate(rate)
	return nil, nil
}

func (s *httpServer) freeMemory(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	debug.FreeOSMemory()
	return nil, nil
}
