package nsqd

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/version"
)

// httpServer serves nsqd's HTTP API on the plain or the TLS listener.
type httpServer struct {
	n      *NSQD
	tls    bool
	router http.Handler
}

func newHTTPServer(n *NSQD, isTLS bool) *httpServer {
	s := &httpServer{n: n, tls: isTLS}
	logf := func(f string, args ...any) { n.log.Logf(lg.DEBUG, "HTTP: "+f, args...) }
	r := httpapi.NewRouter(func(f string, args ...any) { n.log.Logf(lg.ERROR, "HTTP: "+f, args...) })
	logReq := httpapi.LogIf(func() bool { return n.log != nil && n.log.Enabled(lg.DEBUG) }, logf)
	v1 := func(h httpapi.Handler) httprouter.Handle {
		return httpapi.Decorate(h, logReq, httpapi.V1)
	}
	text := func(h httpapi.Handler) httprouter.Handle {
		return httpapi.Decorate(h, logReq, httpapi.PlainText)
	}
	r.GET("/ping", text(s.ping))
	r.GET("/info", v1(s.info))
	r.POST("/pub", v1(s.pub))
	r.POST("/mpub", v1(s.mpub))
	r.GET("/stats", v1(s.stats))
	r.Handler("GET", "/metrics", newMetricsHandler(n)) // beyond NSQ: Prometheus exposition

	r.POST("/topic/create", v1(s.topicCreate))
	r.POST("/topic/delete", v1(s.topicDelete))
	r.POST("/topic/empty", v1(s.topicEmpty))
	r.POST("/topic/pause", v1(s.topicPause))
	r.POST("/topic/unpause", v1(s.topicPause))
	r.POST("/channel/create", v1(s.channelCreate))
	r.POST("/channel/delete", v1(s.channelDelete))
	r.POST("/channel/empty", v1(s.channelEmpty))
	r.POST("/channel/pause", v1(s.channelPause))
	r.POST("/channel/unpause", v1(s.channelPause))
	// beyond NSQ: dead letters and peek (http_ops.go)
	r.GET("/channel/config", v1(s.channelConfig))
	r.POST("/channel/config", v1(s.channelConfig))
	r.GET("/channel/peek", v1(s.channelPeek))
	r.GET("/channel/dead", v1(s.channelDead))
	r.POST("/channel/dead/replay", v1(s.channelDeadReplay))
	r.POST("/channel/rewind", v1(s.channelRewind)) // replay, --storage=log (logmode_replay.go)

	r.GET("/config/:opt", v1(s.config))
	r.PUT("/config/:opt", v1(s.config))

	r.HandlerFunc("GET", "/debug/pprof/", pprof.Index)
	r.HandlerFunc("GET", "/debug/pprof/cmdline", pprof.Cmdline)
	r.HandlerFunc("GET", "/debug/pprof/symbol", pprof.Symbol)
	r.HandlerFunc("POST", "/debug/pprof/symbol", pprof.Symbol)
	r.HandlerFunc("GET", "/debug/pprof/profile", pprof.Profile)
	// exactly NSQ's set of profiles: others (trace, mutex, allocs) are 404
	for _, p := range []string{"heap", "goroutine", "block", "threadcreate"} {
		r.Handler("GET", "/debug/pprof/"+p, pprof.Handler(p))
	}
	r.PUT("/debug/setblockrate", text(s.setBlockRate))
	r.POST("/debug/freememory", text(s.freeMemory))
	s.router = r
	return s
}

// ServeHTTP answers every request on the plain listener with 403 when
// --tls-required=true, naming the HTTPS port to retry on.
func (s *httpServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !s.tls && s.n.tlsRequired == TLSRequiredAll {
		port := 0
		if a := s.n.RealHTTPSAddr(); a != nil {
			port = portOf(a.String())
		}
		h := w.Header()
		h.Set("X-NSQ-Content-Type", "nsq; version=1.0")
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"message": "TLS_REQUIRED", "https_port": %d}`, port)
		return
	}
	if err := s.authorize(req); err != nil {
		httpapi.RespondV1(w, err.Code, *err)
		return
	}
	s.router.ServeHTTP(w, req)
}

func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p, _ := strconv.Atoi(addr[i+1:])
	return p
}

func errBadRequest(code string) error  { return httpapi.Err{Code: 400, Text: code} }
func errTooLarge(code string) error    { return httpapi.Err{Code: 413, Text: code} }
func errNotFound(code string) error    { return httpapi.Err{Code: 404, Text: code} }
func errInternal() error               { return httpapi.Err{Code: 500, Text: "INTERNAL_ERROR"} }
func errUnavailable(code string) error { return httpapi.Err{Code: 503, Text: code} }

func (s *httpServer) ping(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	health, ok := s.n.health()
	if !ok {
		return nil, httpapi.Err{Code: 500, Text: health}
	}
	return health, nil
}

type infoResponse struct {
	Version                string `json:"version"`
	BroadcastAddress       string `json:"broadcast_address"`
	Hostname               string `json:"hostname"`
	HTTPPort               int    `json:"http_port"`
	TCPPort                int    `json:"tcp_port"`
	StartTime              int64  `json:"start_time"`
	MaxHeartbeatInterval   int64  `json:"max_heartbeat_interval"`
	MaxOutputBufferSize    int64  `json:"max_output_buffer_size"`
	MaxOutputBufferTimeout int64  `json:"max_output_buffer_timeout"`
	MaxDeflateLevel        int    `json:"max_deflate_level"`
	TopologyZone           string `json:"topology_zone"`
	TopologyRegion         string `json:"topology_region"`
}

func (s *httpServer) info(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	hostname, err := os.Hostname()
	if err != nil {
		return nil, errInternal()
	}
	o := s.n.opts
	httpPort := -1
	if s.n.httpListener != nil {
		httpPort = httpapi.Port(s.n.httpListener)
	}
	return infoResponse{
		Version:                version.Binary,
		BroadcastAddress:       o.BroadcastAddress,
		Hostname:               hostname,
		HTTPPort:               httpPort,
		TCPPort:                httpapi.Port(s.n.tcpListener),
		StartTime:              s.n.startTime.Unix(),
		MaxHeartbeatInterval:   int64(o.MaxHeartbeatInterval),
		MaxOutputBufferSize:    o.MaxOutputBufferSize,
		MaxOutputBufferTimeout: int64(o.MaxOutputBufferTimeout),
		MaxDeflateLevel:        o.MaxDeflateLevel,
		TopologyZone:           o.TopologyZone,
		TopologyRegion:         o.TopologyRegion,
	}, nil
}
