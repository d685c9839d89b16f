package nsqadmin

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
)

// Fake upstreams: httptest servers that answer like nsqd and nsqlookupd
// (the JSON of the project's nsqd-http and nsqlookupd digests) from a
// small in-memory model, record the calls they get, and can be made slow,
// broken or garbled to test nsqadmin's fault handling.

// fakeNSQD is one fake nsqd. Its broadcast address and HTTP port are the
// test server's, so nsqadmin reaches it in lookupd mode too.
type fakeNSQD struct {
	srv      *httptest.Server
	hostname string
	bcast    string
	httpPort int
	tcpPort  int

	mu          sync.Mutex // guards the fields below
	version     string
	region      string
	zone        string
	topics      map[string]*fakeTopic
	calls       []string // "METHOD /path?query"
	delay       time.Duration
	broken      bool   // answer every request with 500
	garbage     string // answer every request with this body
	statsCalls  int
	percentiles []float64

	// our nsqd's extensions (replay_test.go): "log", "diskqueue" or ""
	// (NSQ's nsqd, which says nothing and has no replay routes), the
	// status and message replay routes fail with (0: they work), and
	// the /stats replication section
	storage      string
	replayStatus int
	replication  *clusterinfo.Replication
}

type fakeTopic struct {
	depth, backend, msgs int64
	paused               bool
	channels             map[string]*fakeChannel
	retained             []int64 // log mode: publish times (unix ms) of the retained messages
}

type fakeChannel struct {
	depth, backend, inFlight, deferred, requeue, timeout, msgs int64
	paused                                                     bool
	clients                                                    []*clusterinfo.ClientStats
	e2eCount                                                   int64
	e2eValues                                                  []float64 // one per percentile
}

func newFakeNSQD(tb testing.TB, hostname string) *fakeNSQD {
	tb.Helper()
	f := &fakeNSQD{hostname: hostname, version: "1.3.0", topics: map[string]*fakeTopic{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	host, port, _ := net.SplitHostPort(f.srv.Listener.Addr().String())
	f.bcast = host
	f.httpPort, _ = strconv.Atoi(port)
	f.tcpPort = f.httpPort + 10000
	return f
}

// addr is the node key nsqadmin uses: broadcast_address:http_port.
func (f *fakeNSQD) addr() string { return net.JoinHostPort(f.bcast, strconv.Itoa(f.httpPort)) }

func (f *fakeNSQD) setTopic(name string, t *fakeTopic) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.channels == nil {
		t.channels = map[string]*fakeChannel{}
	}
	f.topics[name] = t
}

func (f *fakeNSQD) topic(name string) *fakeTopic {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.topics[name]
}

func (f *fakeNSQD) set(fn func(f *fakeNSQD)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeNSQD) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeNSQD) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	delay, broken, garbage := f.delay, f.broken, f.garbage
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if broken {
		httpapi.RespondV1(w, 500, httpapi.Err{Code: 500, Text: "INTERNAL_ERROR"})
		return
	}
	if garbage != "" {
		w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
		w.Write([]byte(garbage))
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	topic, channel := q.Get("topic"), q.Get("channel")
	if f.serveReplayLocked(w, r.URL.Path, q) {
		return
	}
	switch r.URL.Path {
	case "/info":
		httpapi.RespondV1(w, 200, map[string]any{
			"version": f.version, "broadcast_address": f.bcast, "hostname": f.hostname,
			"http_port": f.httpPort, "tcp_port": f.tcpPort, "start_time": 1,
			"topology_zone": f.zone, "topology_region": f.region,
		})
	case "/stats":
		f.statsCalls++
		httpapi.RespondV1(w, 200, f.statsLocked(topic, channel, q.Get("include_clients") != "false"))
	case "/topic/create":
		if f.topics[topic] == nil {
			f.topics[topic] = &fakeTopic{channels: map[string]*fakeChannel{}}
		}
		httpapi.RespondV1(w, 200, nil)
	case "/topic/delete", "/topic/empty", "/topic/pause", "/topic/unpause":
		t := f.topics[topic]
		if t == nil {
			httpapi.RespondV1(w, 404, httpapi.Err{Code: 404, Text: "TOPIC_NOT_FOUND"})
			return
		}
		switch r.URL.Path {
		case "/topic/delete":
			delete(f.topics, topic)
		case "/topic/empty":
			t.depth, t.backend = 0, 0
		case "/topic/pause":
			t.paused = true
		case "/topic/unpause":
			t.paused = false
		}
		httpapi.RespondV1(w, 200, nil)
	case "/channel/create", "/channel/delete", "/channel/empty", "/channel/pause", "/channel/unpause":
		t := f.topics[topic]
		if t == nil {
			httpapi.RespondV1(w, 404, httpapi.Err{Code: 404, Text: "TOPIC_NOT_FOUND"})
			return
		}
		c := t.channels[channel]
		if r.URL.Path == "/channel/create" {
			if c == nil {
				t.channels[channel] = &fakeChannel{}
			}
			httpapi.RespondV1(w, 200, nil)
			return
		}
		if c == nil {
			httpapi.RespondV1(w, 404, httpapi.Err{Code: 404, Text: "CHANNEL_NOT_FOUND"})
			return
		}
		switch r.URL.Path {
		case "/channel/delete":
			delete(t.channels, channel)
		case "/channel/empty":
			c.depth, c.backend, c.inFlight, c.deferred = 0, 0, 0, 0
		case "/channel/pause":
			c.paused = true
		case "/channel/unpause":
			c.paused = false
		}
		httpapi.RespondV1(w, 200, nil)
	default:
		httpapi.RespondV1(w, 404, httpapi.Err{Code: 404, Text: "NOT_FOUND"})
	}
}

// statsLocked renders /stats?format=json the way nsqd does: topics and
// channels sorted by name, a topic filter that matches nothing gives
// "topics": null, a channel filter drops topics lacking the channel.
func (f *fakeNSQD) statsLocked(topic, channel string, includeClients bool) map[string]any {
	var names []string
	for n := range f.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	topics := []*clusterinfo.TopicStats{}
	for _, n := range names {
		if topic != "" && n != topic {
			continue
		}
		t := f.topics[n]
		nt := &clusterinfo.TopicStats{TopicName: n, Depth: t.depth, BackendDepth: t.backend, MessageCount: t.msgs, Paused: t.paused, Channels: []*clusterinfo.ChannelStats{}}
		nt.Storage = f.storage
		if f.storage == clusterinfo.StorageLog && len(t.retained) > 0 {
			nt.RetainedFromMs = slices.Min(t.retained)
		}
		var cnames []string
		for c := range t.channels {
			cnames = append(cnames, c)
		}
		sort.Strings(cnames)
		for _, cn := range cnames {
			if channel != "" && cn != channel {
				continue
			}
			c := t.channels[cn]
			nc := &clusterinfo.ChannelStats{ChannelCounts: clusterinfo.ChannelCounts{ChannelName: cn, Depth: c.depth,
				BackendDepth: c.backend, InFlightCount: c.inFlight, DeferredCount: c.deferred, MessageCount: c.msgs,
				RequeueCount: c.requeue, TimeoutCount: c.timeout, ClientCount: int64(len(c.clients))}, Paused: c.paused}
			if includeClients {
				nc.Clients = append([]*clusterinfo.ClientStats{}, c.clients...)
			}
			nc.E2E.Count = c.e2eCount
			for i, v := range c.e2eValues {
				nc.E2E.Percentiles = append(nc.E2E.Percentiles, clusterinfo.E2EPercentile{Quantile: f.percentiles[i], Value: v})
			}
			nt.Channels = append(nt.Channels, nc)
		}
		if channel != "" && len(nt.Channels) == 0 {
			continue
		}
		topics = append(topics, nt)
	}
	out := map[string]any{"version": f.version, "health": "OK", "start_time": 1, "topics": topics, "producers": nil}
	if f.replication != nil {
		out["replication"] = f.replication
	}
	if topic != "" && len(topics) == 0 && f.topics[topic] == nil {
		out["topics"] = nil
	}
	return out
}

// fakeLookupd is one fake nsqlookupd over a set of fake nsqds: a node is
// a producer of every topic it has, unless tombstoned for it.
type fakeLookupd struct {
	srv *httptest.Server

	mu         sync.Mutex // guards the fields below
	nodes      []*fakeNSQD
	topics     map[string]map[string]bool // topic → channels registered without a producer
	tombstones map[string]bool            // "topic node"
	calls      []string
	broken     bool
	garbage    string
	delay      time.Duration
	shortTombs bool // send /nodes tombstones shorter than topics
}

func newFakeLookupd(tb testing.TB, nodes ...*fakeNSQD) *fakeLookupd {
	tb.Helper()
	l := &fakeLookupd{nodes: nodes, topics: map[string]map[string]bool{}, tombstones: map[string]bool{}}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	tb.Cleanup(l.srv.Close)
	return l
}

func (l *fakeLookupd) addr() string { return l.srv.Listener.Addr().String() }

func (l *fakeLookupd) set(fn func(l *fakeLookupd)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(l)
}

func (l *fakeLookupd) callLog() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func peerOf(n *fakeNSQD) map[string]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return map[string]any{
		"remote_address": "127.0.0.1:" + strconv.Itoa(n.tcpPort+1), "hostname": n.hostname,
		"broadcast_address": n.bcast, "tcp_port": n.tcpPort, "http_port": n.httpPort,
		"version": n.version, "topology_zone": n.zone, "topology_region": n.region,
	}
}

func nodeTopics(n *fakeNSQD) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for t := range n.topics {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (l *fakeLookupd) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.calls = append(l.calls, r.Method+" "+r.URL.RequestURI())
	delay, broken, garbage := l.delay, l.broken, l.garbage
	l.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if broken {
		httpapi.RespondV1(w, 500, httpapi.Err{Code: 500, Text: "INTERNAL_ERROR"})
		return
	}
	if garbage != "" {
		w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
		w.Write([]byte(garbage))
		return
	}
	q := r.URL.Query()
	topic, channel := q.Get("topic"), q.Get("channel")
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.URL.Path {
	case "/topics":
		set := map[string]bool{}
		for t := range l.topics {
			set[t] = true
		}
		for _, n := range l.nodes {
			for _, t := range nodeTopics(n) {
				set[t] = true
			}
		}
		httpapi.RespondV1(w, 200, map[string]any{"topics": sortedKeys(set)})
	case "/channels":
		httpapi.RespondV1(w, 200, map[string]any{"channels": l.channelsLocked(topic)})
	case "/lookup":
		producers := []map[string]any{}
		known := l.topics[topic] != nil
		for _, n := range l.nodes {
			if n.topic(topic) != nil {
				known = true
				if !l.tombstones[topic+" "+n.addr()] {
					producers = append(producers, peerOf(n))
				}
			}
		}
		if !known {
			httpapi.RespondV1(w, 404, httpapi.Err{Code: 404, Text: "TOPIC_NOT_FOUND"})
			return
		}
		httpapi.RespondV1(w, 200, map[string]any{"channels": l.channelsLocked(topic), "producers": producers})
	case "/nodes":
		producers := []map[string]any{}
		for _, n := range l.nodes {
			p := peerOf(n)
			topics := nodeTopics(n)
			tombs := make([]bool, len(topics))
			for i, t := range topics {
				tombs[i] = l.tombstones[t+" "+n.addr()]
			}
			if l.shortTombs && len(tombs) > 0 {
				tombs = tombs[:len(tombs)-1]
			}
			p["topics"], p["tombstones"] = topics, tombs
			producers = append(producers, p)
		}
		httpapi.RespondV1(w, 200, map[string]any{"producers": producers})
	case "/topic/create":
		if l.topics[topic] == nil {
			l.topics[topic] = map[string]bool{}
		}
		httpapi.RespondV1(w, 200, nil)
	case "/topic/delete":
		delete(l.topics, topic)
		httpapi.RespondV1(w, 200, nil)
	case "/topic/tombstone":
		l.tombstones[topic+" "+q.Get("node")] = true
		httpapi.RespondV1(w, 200, nil)
	case "/channel/create":
		if l.topics[topic] == nil {
			l.topics[topic] = map[string]bool{}
		}
		l.topics[topic][channel] = true
		httpapi.RespondV1(w, 200, nil)
	case "/channel/delete":
		if !slices.Contains(l.channelsLocked(topic), channel) {
			httpapi.RespondV1(w, 404, httpapi.Err{Code: 404, Text: "CHANNEL_NOT_FOUND"})
			return
		}
		delete(l.topics[topic], channel)
		httpapi.RespondV1(w, 200, nil)
	default:
		httpapi.RespondV1(w, 404, httpapi.Err{Code: 404, Text: "NOT_FOUND"})
	}
}

func (l *fakeLookupd) channelsLocked(topic string) []string {
	set := map[string]bool{}
	for c := range l.topics[topic] {
		set[c] = true
	}
	for _, n := range l.nodes {
		if t := n.topic(topic); t != nil {
			n.mu.Lock()
			for c := range t.channels {
				set[c] = true
			}
			n.mu.Unlock()
		}
	}
	return sortedKeys(set)
}

// notifySink collects the notifications nsqadmin POSTs.
type notifySink struct {
	srv *httptest.Server

	mu      sync.Mutex // guards got
	got     []map[string]any
	headers []http.Header
}

func newNotifySink(tb testing.TB) *notifySink {
	tb.Helper()
	s := &notifySink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			w.WriteHeader(400)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, m)
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *notifySink) all() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.got...)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
