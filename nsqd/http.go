package nsqd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
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
	v1 := func(h httpapi.Handler) httprouter.Handle {
		return httpapi.Decorate(h, httpapi.Log(logf), httpapi.V1)
	}
	text := func(h httpapi.Handler) httprouter.Handle {
		return httpapi.Decorate(h, httpapi.Log(logf), httpapi.PlainText)
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

// topicFromQuery validates the topic parameter with the /topic/* codes and
// returns (creating) the topic.
func (s *httpServer) topicFromQuery(req *http.Request) (httpapi.Query, *Topic, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, nil, err
	}
	name, ok := q.Get("topic")
	if !ok {
		return nil, nil, errBadRequest("MISSING_ARG_TOPIC")
	}
	if !names.IsValidTopicName(name) {
		return nil, nil, errBadRequest("INVALID_TOPIC")
	}
	t, err := s.n.GetTopic(name)
	if err != nil {
		return nil, nil, errUnavailable("EXITING")
	}
	return q, t, nil
}

func (s *httpServer) pub(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	max := s.n.opts.MaxMsgSize
	if req.ContentLength > max {
		return nil, errTooLarge("MSG_TOO_BIG")
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, max+1))
	if err != nil {
		return nil, errInternal()
	}
	if int64(len(body)) > max {
		return nil, errTooLarge("MSG_TOO_BIG")
	}
	if len(body) == 0 {
		return nil, errBadRequest("MSG_EMPTY")
	}
	q, t, err := s.topicFromQuery(req)
	if err != nil {
		return nil, err
	}
	var deferral time.Duration
	if d, ok := q.Get("defer"); ok {
		ms, err := strconv.ParseInt(d, 10, 64)
		if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > s.n.opts.MaxReqTimeout {
			return nil, errBadRequest("INVALID_DEFER")
		}
		deferral = time.Duration(ms) * time.Millisecond
	}
	if err := t.Publish([][]byte{body}, deferral); err != nil {
		return nil, errUnavailable("EXITING")
	}
	return "OK", nil
}

func (s *httpServer) mpub(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	maxBody := s.n.opts.MaxBodySize
	if req.ContentLength > maxBody {
		return nil, errTooLarge("BODY_TOO_BIG")
	}
	q, t, err := s.topicFromQuery(req)
	if err != nil {
		return nil, err
	}
	binaryMode := false
	if b, ok := q.Get("binary"); ok {
		switch b {
		case "true", "1":
			binaryMode = true
		case "false", "0":
		default:
			s.n.log.Logf(lg.WARN, "HTTP: deprecated binary value %q treated as true", b)
			binaryMode = true
		}
	}
	var bodies [][]byte
	if binaryMode {
		bodies, err = readBinaryMPUB(req.Body, maxBody, s.n.opts.MaxMsgSize)
	} else {
		bodies, err = readTextMPUB(req.Body, maxBody, s.n.opts.MaxMsgSize)
	}
	if err != nil {
		return nil, err
	}
	if len(bodies) == 0 {
		return "OK", nil
	}
	if err := t.Publish(bodies, 0); err != nil {
		return nil, errUnavailable("EXITING")
	}
	return "OK", nil
}

// readTextMPUB reads newline-separated messages line by line, as NSQ
// does: one trailing "\n" per line is removed ("\r" stays), empty lines
// are skipped, and the checks run in stream order, so a line longer than
// maxMsg is reported before the body outgrows maxBody.
func readTextMPUB(r io.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	readMax := maxBody + 1
	br := bufio.NewReader(io.LimitReader(r, readMax))
	var bodies [][]byte
	var total int64
	for {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, errInternal()
		}
		total += int64(len(line))
		if total >= readMax {
			return nil, errTooLarge("BODY_TOO_BIG")
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if len(line) > 0 {
			if int64(len(line)) > maxMsg {
				return nil, errTooLarge("MSG_TOO_BIG")
			}
			bodies = append(bodies, line)
		}
		if err == io.EOF {
			return bodies, nil
		}
	}
}

// readBinaryMPUB parses int32 count then count × (int32 size, bytes);
// bytes after the last declared message are not read. Errors carry NSQ's
// TCP MPUB codes without "E_". NSQ bounds a binary body only by its
// Content-Length; a chunked body that goes past maxBody is refused here
// with BODY_TOO_BIG rather than read without limit.
func readBinaryMPUB(r io.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	// unbuffered, so exactly the parsed bytes count against the limit
	lr := &io.LimitedReader{R: r, N: maxBody + 1}
	bodies, err := parseBinaryMPUB(lr, maxBody, maxMsg)
	if lr.N == 0 {
		return nil, errTooLarge("BODY_TOO_BIG")
	}
	return bodies, err
}

func parseBinaryMPUB(r io.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	var n int32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return nil, errTooLarge("BAD_BODY")
	}
	if n <= 0 || int64(n) > (maxBody-4)/5 {
		return nil, errTooLarge("BAD_BODY")
	}
	bodies := make([][]byte, n)
	for i := range bodies {
		var size int32
		if err := binary.Read(r, binary.BigEndian, &size); err != nil {
			return nil, errTooLarge("BAD_MESSAGE")
		}
		if size <= 0 || int64(size) > maxMsg {
			return nil, errTooLarge("BAD_MESSAGE")
		}
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, errTooLarge("BAD_MESSAGE")
		}
		bodies[i] = b
	}
	return bodies, nil
}

// queryBool reads include_clients / include_mem: false and 0 are false,
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
		Version:   version.Binary,
		Health:    health,
		StartTime: s.n.startTime.Unix(),
		Topics:    s.n.getStats(statsFilter{topic: topic, channel: channel, clients: withClients}),
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
		s.n.log.Logf(lg.ERROR, "failed to persist metadata - %s", err)
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
	if opt == "statsd_prefix" {
		value = s.n.statsdPrefix()
	} else {
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
