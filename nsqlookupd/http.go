package nsqlookupd

import (
	"net/http"
	"net/http/pprof"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/httpmetrics"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/version"
)

// httpServer holds the HTTP API handlers.
type httpServer struct {
	n *NSQLookupd
}

// newHTTPHandler builds the router with NSQ's routes, 404/405/OPTIONS
// replies and pprof endpoints.
func newHTTPHandler(n *NSQLookupd) http.Handler {
	s := &httpServer{n: n}
	router := httpapi.NewRouter(func(format string, args ...any) {
		n.logf(lg.ERROR, "HTTP: "+format, args...)
	})
	logReq := httpapi.Log(func(format string, args ...any) { n.logf(lg.INFO, "HTTP: "+format, args...) })
	v1 := func(h httpapi.Handler) httprouter.Handle { return httpapi.Decorate(h, logReq, httpapi.V1) }

	router.GET("/ping", httpapi.Decorate(s.ping, logReq, httpapi.PlainText))
	router.GET("/info", v1(s.info))

	router.GET("/debug", v1(s.debug))
	router.GET("/lookup", v1(s.lookup))
	router.GET("/topics", v1(s.topics))
	router.GET("/channels", v1(s.channels))
	router.GET("/nodes", v1(s.nodes))

	router.POST("/topic/create", v1(s.createTopic))
	router.POST("/topic/delete", v1(s.deleteTopic))
	router.POST("/channel/create", v1(s.createChannel))
	router.POST("/channel/delete", v1(s.deleteChannel))
	router.POST("/topic/tombstone", v1(s.tombstoneTopicProducer))

	// /debug/pprof/ redirects here (httprouter's trailing-slash rule);
	// pprof.Index serves the index for a path without the slash.
	router.Handler(http.MethodGet, "/metrics", n.metrics.handler) // beyond NSQ: Prometheus exposition

	router.HandlerFunc(http.MethodGet, "/debug/pprof", pprof.Index)
	router.HandlerFunc(http.MethodGet, "/debug/pprof/cmdline", pprof.Cmdline)
	router.HandlerFunc(http.MethodGet, "/debug/pprof/symbol", pprof.Symbol)
	router.HandlerFunc(http.MethodPost, "/debug/pprof/symbol", pprof.Symbol)
	router.HandlerFunc(http.MethodGet, "/debug/pprof/profile", pprof.Profile)
	for _, name := range []string{"heap", "goroutine", "block", "threadcreate"} {
		router.Handler(http.MethodGet, "/debug/pprof/"+name, pprof.Handler(name))
	}
	return n.metrics.http.Wrap(router, func(req *http.Request) string {
		// every route is a fixed path
		if h, _, _ := router.Lookup(req.Method, req.URL.Path); h != nil {
			return req.URL.Path
		}
		return httpmetrics.Other
	})
}

var (
	errMissingTopic   = httpapi.Err{Code: http.StatusBadRequest, Text: "MISSING_ARG_TOPIC"}
	errInvalidTopic   = httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TOPIC"}
	errMissingChannel = httpapi.Err{Code: http.StatusBadRequest, Text: "MISSING_ARG_CHANNEL"}
	errInvalidChannel = httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_CHANNEL"}
	errMissingNode    = httpapi.Err{Code: http.StatusBadRequest, Text: "MISSING_ARG_NODE"}
	errTopicNotFound  = httpapi.Err{Code: http.StatusNotFound, Text: "TOPIC_NOT_FOUND"}
	errChanNotFound   = httpapi.Err{Code: http.StatusNotFound, Text: "CHANNEL_NOT_FOUND"}
)

// topicArg returns the topic parameter, which may be empty but must be
// present (NSQ's rule); names are taken literally, never as patterns.
func topicArg(req *http.Request) (string, httpapi.Query, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return "", nil, err
	}
	topic, ok := q.Get("topic")
	if !ok {
		return "", nil, errMissingTopic
	}
	return topic, q, nil
}

// topicChannelArgs returns valid topic and channel parameters.
func topicChannelArgs(req *http.Request) (string, string, error) {
	topic, q, err := topicArg(req)
	if err != nil {
		return "", "", err
	}
	if !names.IsValidTopicName(topic) {
		return "", "", errInvalidTopic
	}
	channel, ok := q.Get("channel")
	if !ok {
		return "", "", errMissingChannel
	}
	if !names.IsValidChannelName(channel) {
		return "", "", errInvalidChannel
	}
	return topic, channel, nil
}

func (s *httpServer) ping(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return "OK", nil
}

func (s *httpServer) info(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return struct {
		Version string `json:"version"`
	}{version.Binary}, nil
}

func (s *httpServer) debug(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return s.n.db.debug(), nil
}

func (s *httpServer) topics(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return struct {
		Topics []string `json:"topics"`
	}{s.n.db.topics()}, nil
}

func (s *httpServer) channels(_ http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	topic, _, err := topicArg(req)
	if err != nil {
		return nil, err
	}
	return struct {
		Channels []string `json:"channels"`
	}{s.n.db.channelsOf(topic)}, nil
}

func (s *httpServer) lookup(_ http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	topic, _, err := topicArg(req)
	if err != nil {
		return nil, err
	}
	channels, producers, ok := s.n.db.lookup(topic)
	if !ok {
		return nil, errTopicNotFound
	}
	return struct {
		Channels  []string    `json:"channels"`
		Producers []*peerInfo `json:"producers"`
	}{channels, producers}, nil
}

func (s *httpServer) nodes(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return struct {
		Producers []*clusterinfo.Node `json:"producers"`
	}{s.n.db.nodes()}, nil
}

func (s *httpServer) createTopic(_ http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	topic, _, err := topicArg(req)
	if err != nil {
		return nil, err
	}
	if !names.IsValidTopicName(topic) {
		return nil, errInvalidTopic
	}
	s.n.logf(lg.INFO, "DB: adding topic(%s)", topic)
	s.n.db.createTopic(topic)
	return nil, nil
}

func (s *httpServer) deleteTopic(_ http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	topic, _, err := topicArg(req)
	if err != nil {
		return nil, err
	}
	n := s.n.db.deleteTopic(topic)
	s.n.logf(lg.INFO, "DB: removed topic(%s) and its channels (%d keys)", topic, n)
	return nil, nil
}

func (s *httpServer) tombstoneTopicProducer(_ http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	topic, q, err := topicArg(req)
	if err != nil {
		return nil, err
	}
	node, ok := q.Get("node")
	if !ok {
		return nil, errMissingNode
	}
	n := s.n.db.tombstone(topic, node)
	s.n.logf(lg.INFO, "DB: setting tombstone for producer@%s of topic(%s) (%d matched)", node, topic, n)
	return nil, nil
}

func (s *httpServer) createChannel(_ http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := topicChannelArgs(req)
	if err != nil {
		return nil, err
	}
	s.n.logf(lg.INFO, "DB: adding channel(%s) in topic(%s)", channel, topic)
	s.n.db.createChannel(topic, channel)
	return nil, nil
}

func (s *httpServer) deleteChannel(_ http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := topicChannelArgs(req)
	if err != nil {
		return nil, err
	}
	if !s.n.db.deleteChannel(topic, channel) {
		return nil, errChanNotFound
	}
	s.n.logf(lg.INFO, "DB: removed channel(%s) from topic(%s)", channel, topic)
	return nil, nil
}
