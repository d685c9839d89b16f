package nsqadmin

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
)

// fakeCluster is two fake nsqds ("host-a", "host-b") behind one fake
// lookupd:
//
//	host-a: orders (depth 5, 2 on disk, 100 msgs): billing (10 queued, 2 in flight, 2 clients), audit
//	        events (depth 1)
//	host-b: orders (depth 1, 50 msgs): billing (3 queued, paused, 1 client)
//	lookupd only: newt (no channels), keep (channel "ch")
type fakeCluster struct {
	a, b    *fakeNSQD
	lookupd *fakeLookupd
}

func newFakeCluster(tb testing.TB) *fakeCluster {
	tb.Helper()
	a := newFakeNSQD(tb, "host-a")
	b := newFakeNSQD(tb, "host-b")
	a.set(func(f *fakeNSQD) { f.percentiles = []float64{0.99, 0.5} })
	b.set(func(f *fakeNSQD) { f.percentiles = []float64{0.99} })
	now := time.Now().Unix()
	a.setTopic("orders", &fakeTopic{depth: 5, backend: 2, msgs: 100, channels: map[string]*fakeChannel{
		"billing": {depth: 10, backend: 4, inFlight: 2, deferred: 1, requeue: 3, timeout: 1, msgs: 90,
			e2eCount: 10, e2eValues: []float64{2000, 1000},
			clients: []*clusterinfo.ClientStats{
				{ClientID: "w2", Hostname: "worker2", Version: "V2", RemoteAddress: "127.0.0.1:5002", ConnectTs: now - 60,
					InFlightCount: 1, MessageCount: 40, FinishCount: 35, RequeueCount: 2, ReadyCount: 5, UserAgent: "go-nsq/1.1.0",
					TopologyRegion: "eu", TopologyZone: "b"},
				{ClientID: "w1", Hostname: "worker1", Version: "V2", RemoteAddress: "127.0.0.1:5001", ConnectTs: now - 120,
					InFlightCount: 1, MessageCount: 50, FinishCount: 49, ReadyCount: 5, UserAgent: "go-nsq/1.1.0"},
			}},
		"audit": {},
	}})
	a.setTopic("events", &fakeTopic{depth: 1, msgs: 1})
	b.setTopic("orders", &fakeTopic{depth: 1, msgs: 50, channels: map[string]*fakeChannel{
		"billing": {depth: 3, msgs: 40, paused: true, e2eCount: 30, e2eValues: []float64{4000},
			clients: []*clusterinfo.ClientStats{{ClientID: "w3", Hostname: "worker3", Version: "V2", RemoteAddress: "127.0.0.1:5003",
				ConnectTs: now - 10, MessageCount: 40, FinishCount: 40, UserAgent: "pynsq/0.9"}}},
	}})
	l := newFakeLookupd(tb, a, b)
	l.set(func(l *fakeLookupd) {
		l.topics["newt"] = map[string]bool{}
		l.topics["keep"] = map[string]bool{"ch": true}
		// the nodes' channels were REGISTERed: a real lookupd keeps those
		// keys until they are deleted over HTTP, even after the nsqd
		// deletes the channel first (admin actions call both at once)
		l.topics["orders"] = map[string]bool{"billing": true, "audit": true}
	})
	return &fakeCluster{a: a, b: b, lookupd: l}
}

func (c *fakeCluster) lookupdMode(o *Options) { o.NSQLookupdHTTPAddresses = []string{c.lookupd.addr()} }

func (c *fakeCluster) nsqdMode(o *Options) { o.NSQDHTTPAddresses = []string{c.a.addr(), c.b.addr()} }

func TestAPITopics(t *testing.T) {
	c := newFakeCluster(t)
	for _, tc := range []struct {
		name   string
		mode   func(*Options)
		topics string
		// inactive is /api/topics?inactive=true
		inactive string
	}{
		{"lookupd", c.lookupdMode, "events,keep,newt,orders", `{"topics":{"keep":["ch"],"newt":null},"message":""}`},
		{"nsqd", c.nsqdMode, "events,orders", `{"topics":{},"message":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAdmin(t, tc.mode)
			r := getOK(t, a.url+"/api/topics")
			wantKeys(t, "topics", r, "topics", "message")
			var got []string
			for _, x := range list(r["topics"]) {
				got = append(got, x.(string))
			}
			if strings.Join(got, ",") != tc.topics || r["message"] != "" {
				t.Errorf("topics = %v %q, want %s", got, r["message"], tc.topics)
			}
			in := call(t, "GET", a.url+"/api/topics?inactive=true", nil)
			if in.status != 200 || string(in.body) != tc.inactive {
				t.Errorf("inactive: %d %s, want %s", in.status, in.body, tc.inactive)
			}
		})
	}
}

func TestAPITopicAggregates(t *testing.T) {
	c := newFakeCluster(t)
	for _, mode := range []struct {
		name string
		fn   func(*Options)
	}{{"lookupd", c.lookupdMode}, {"nsqd", c.nsqdMode}} {
		t.Run(mode.name, func(t *testing.T) {
			a := startAdmin(t, mode.fn)
			r := getOK(t, a.url+"/api/topics/orders")
			wantKeys(t, "topic", r, append(topicStatsKeys, "message")...)
			for k, want := range map[string]any{"node": "*", "hostname": "", "topic_name": "orders", "depth": 6.0,
				"backend_depth": 2.0, "memory_depth": 4.0, "message_count": 150.0, "paused": false, "message": ""} {
				if r[k] != want {
					t.Errorf("%s = %v, want %v", k, r[k], want)
				}
			}
			nodes := list(r["nodes"])
			if len(nodes) != 2 {
				t.Fatalf("nodes = %v", nodes)
			}
			for i, want := range []*fakeNSQD{c.a, c.b} {
				n := obj(nodes[i])
				wantKeys(t, "node topic", n, topicStatsKeys...)
				if n["node"] != want.addr() || n["hostname"] != want.hostname || n["nodes"] != nil {
					t.Errorf("node %d = %v %v %v", i, n["node"], n["hostname"], n["nodes"])
				}
			}
			chans := list(r["channels"])
			if len(chans) != 2 {
				t.Fatalf("channels = %v", chans)
			}
			audit, billing := obj(chans[0]), obj(chans[1])
			if audit["channel_name"] != "audit" || billing["channel_name"] != "billing" {
				t.Fatalf("channel order: %v, %v", audit["channel_name"], billing["channel_name"])
			}
			wantKeys(t, "channel", billing, channelStatsKeys...)
			for k, want := range map[string]int64{"depth": 13, "backend_depth": 4, "memory_depth": 9, "in_flight_count": 2,
				"deferred_count": 1, "requeue_count": 3, "timeout_count": 1, "message_count": 130, "client_count": 3} {
				if num(billing[k]) != want {
					t.Errorf("billing %s = %v, want %d", k, billing[k], want)
				}
			}
			if billing["paused"] != true || billing["node"] != "*" || billing["clients"] != nil || len(list(billing["nodes"])) != 2 {
				t.Errorf("billing paused/node/clients/nodes = %v %v %v %v", billing["paused"], billing["node"], billing["clients"], billing["nodes"])
			}
			// e2e: per node value = min = max = average; merged by quantile, sorted descending
			e2e := obj(billing["e2e_processing_latency"])
			wantKeys(t, "e2e", e2e, e2eKeys...)
			if e2e["host"] != "*" || e2e["topic"] != "orders" || e2e["channel"] != "billing" || num(e2e["count"]) != 40 {
				t.Errorf("e2e = %v", e2e)
			}
			ps := list(e2e["percentiles"])
			if len(ps) != 2 {
				t.Fatalf("percentiles = %v", ps)
			}
			p99, p50 := obj(ps[0]), obj(ps[1])
			wantKeys(t, "merged percentile", p99, "quantile", "min", "max", "average", "count")
			if p99["quantile"] != 0.99 || p99["max"] != 4000.0 || p99["min"] != 2000.0 || num(p99["count"]) != 40 || p99["average"] != 3500.0 {
				t.Errorf("p99 = %v, want max 4000 min 2000 count 40 average 3500", p99)
			}
			if p50["quantile"] != 0.5 || p50["average"] != 1000.0 {
				t.Errorf("p50 = %v", p50)
			}
			nodeE2E := obj(obj(list(obj(nodes[0])["channels"])[1])["e2e_processing_latency"])
			np := obj(list(nodeE2E["percentiles"])[0])
			wantKeys(t, "node percentile", np, "quantile", "value", "min", "max", "average", "count")
			// as in NSQ, a node's own summary names no host, topic or channel
			if nodeE2E["host"] != "" || nodeE2E["topic"] != "" || nodeE2E["channel"] != "" || np["value"] != 2000.0 || np["min"] != 2000.0 || num(np["count"]) != 10 {
				t.Errorf("node e2e = %v", nodeE2E)
			}
		})
	}
}

func TestAPITopicPausedAnyNode(t *testing.T) {
	c := newFakeCluster(t)
	c.b.topic("orders").paused = true
	a := startAdmin(t, c.lookupdMode)
	if r := getOK(t, a.url+"/api/topics/orders"); r["paused"] != true {
		t.Errorf("paused on one node must show paused, got %v", r["paused"])
	}
}

func TestAPIChannel(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	r := getOK(t, a.url+"/api/topics/orders/billing")
	wantKeys(t, "channel", r, append(channelStatsKeys, "message")...)
	if num(r["depth"]) != 13 || num(r["client_count"]) != 3 || r["node"] != "*" || r["message"] != "" {
		t.Errorf("channel = %v", r)
	}
	clients := list(r["clients"])
	if len(clients) != 3 {
		t.Fatalf("clients = %v", clients)
	}
	// sorted by node; within host-a the client in the node's own (empty)
	// region and zone first
	var order []string
	byName := map[string]map[string]any{}
	for _, cl := range clients {
		order = append(order, obj(cl)["hostname"].(string))
		byName[obj(cl)["hostname"].(string)] = obj(cl)
	}
	want := "worker1,worker2,worker3"
	if c.b.addr() < c.a.addr() {
		want = "worker3,worker1,worker2"
	}
	if strings.Join(order, ",") != want {
		t.Errorf("client order = %v, want %s", order, want)
	}
	w2 := byName["worker2"]
	wantKeys(t, "client", w2, append(clientStatsKeys, "topology_region", "topology_zone")...)
	wantKeys(t, "client without topology", byName["worker1"], clientStatsKeys...)
	if w2["node"] != c.a.addr() || w2["remote_address"] != "127.0.0.1:5002" || num(w2["requeue_count"]) != 2 {
		t.Errorf("client = %v", w2)
	}
	if d := time.Duration(num(w2["connected"])); d < 59*time.Second || d > time.Hour {
		t.Errorf("connected = %v, want about a minute", d)
	}
	for i, n := range list(r["nodes"]) {
		if cl := list(obj(n)["clients"]); len(cl) != []int{2, 1}[i] {
			t.Errorf("node %d has %d clients", i, len(cl))
		}
	}

	t.Run("unknown channel", func(t *testing.T) {
		r := call(t, "GET", a.url+"/api/topics/orders/nope", nil)
		if r.status != 404 || string(r.body) != `{"message":"CHANNEL_NOT_FOUND"}` {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
}

func TestAPIUnknownTopic(t *testing.T) {
	c := newFakeCluster(t)
	for _, tc := range []struct {
		name, topic, want string
		mode              func(*Options)
	}{
		{"lookupd unknown", "nope", "UPSTREAM_ERROR: failed to query any nsqlookupd: ", c.lookupdMode},
		{"lookupd no producers", "newt", "UPSTREAM_ERROR: failed to query any nsqd: ", c.lookupdMode},
		{"nsqd mode", "nope", "UPSTREAM_ERROR: failed to query any nsqd: ", c.nsqdMode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAdmin(t, tc.mode)
			r := call(t, "GET", a.url+"/api/topics/"+tc.topic, nil)
			if r.status != 502 || !strings.HasPrefix(r.message(), tc.want) {
				t.Errorf("got %d %s, want 502 %s...", r.status, r.body, tc.want)
			}
			wantKeys(t, "error", r.json, "message")
		})
	}
}

func TestAPINodes(t *testing.T) {
	c := newFakeCluster(t)
	c.b.set(func(f *fakeNSQD) { f.version = "1.2.1"; f.region = "eu"; f.zone = "b" })
	second := newFakeLookupd(t, c.a) // knows only host-a
	c.lookupd.set(func(l *fakeLookupd) { l.tombstones["events "+c.a.addr()] = true })

	t.Run("lookupd", func(t *testing.T) {
		a := startAdmin(t, func(o *Options) { o.NSQLookupdHTTPAddresses = []string{c.lookupd.addr(), second.addr()} })
		r := getOK(t, a.url+"/api/nodes")
		wantKeys(t, "nodes", r, "nodes", "message")
		nodes := list(r["nodes"])
		if len(nodes) != 2 {
			t.Fatalf("nodes = %v", nodes)
		}
		na, nb := obj(nodes[0]), obj(nodes[1])
		wantKeys(t, "node a", na, producerKeys...)
		wantKeys(t, "node b", nb, append(producerKeys, "topology_region", "topology_zone")...)
		if na["hostname"] != "host-a" || len(list(na["remote_addresses"])) != 2 || na["out_of_date"] != false {
			t.Errorf("node a = %v", na)
		}
		if ra := list(na["remote_addresses"])[0].(string); !strings.HasPrefix(ra, c.lookupd.addr()+"/127.0.0.1:") {
			t.Errorf("remote_addresses[0] = %q", ra)
		}
		if nb["out_of_date"] != true || nb["topology_region"] != "eu" || len(list(nb["remote_addresses"])) != 1 {
			t.Errorf("node b = %v", nb)
		}
		if got := fmt.Sprint(na["topics"]); got != "[map[tombstoned:true topic:events] map[tombstoned:false topic:orders]]" {
			t.Errorf("node a topics = %s", got)
		}
	})
	t.Run("nsqd", func(t *testing.T) {
		a := startAdmin(t, c.nsqdMode)
		nodes := list(getOK(t, a.url+"/api/nodes")["nodes"])
		if len(nodes) != 2 {
			t.Fatalf("nodes = %v", nodes)
		}
		na := obj(nodes[0])
		if na["remote_addresses"] != nil || na["remote_address"] != "" || na["http_port"] != float64(c.a.httpPort) {
			t.Errorf("nsqd-mode node = %v", na)
		}
		if got := fmt.Sprint(na["topics"]); got != "[map[tombstoned:false topic:events] map[tombstoned:false topic:orders]]" {
			t.Errorf("topics = %s", got)
		}
	})
	t.Run("short tombstones list", func(t *testing.T) {
		c.lookupd.set(func(l *fakeLookupd) { l.shortTombs = true })
		defer c.lookupd.set(func(l *fakeLookupd) { l.shortTombs = false })
		a := startAdmin(t, c.lookupdMode)
		if nodes := list(getOK(t, a.url+"/api/nodes")["nodes"]); len(nodes) != 2 {
			t.Errorf("nodes = %v", nodes)
		}
	})
}

func TestAPINode(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	r := getOK(t, a.url+"/api/nodes/"+c.a.addr())
	wantKeys(t, "node", r, "node", "topics", "total_messages", "total_clients", "message")
	if r["node"] != c.a.addr() || num(r["total_messages"]) != 101 || num(r["total_clients"]) != 2 {
		t.Errorf("node = %v", r)
	}
	topics := list(r["topics"])
	if len(topics) != 2 || obj(topics[0])["topic_name"] != "events" {
		t.Errorf("topics = %v", topics)
	}
	nf := call(t, "GET", a.url+"/api/nodes/127.0.0.1:1", nil)
	if nf.status != 404 || nf.message() != "NODE_NOT_FOUND" {
		t.Errorf("unknown node: %d %s", nf.status, nf.body)
	}
	c.a.set(func(f *fakeNSQD) { f.broken = true })
	down := call(t, "GET", a.url+"/api/nodes/"+c.a.addr(), nil)
	if down.status != 502 || !strings.HasPrefix(down.message(), "UPSTREAM_ERROR: ") {
		t.Errorf("node down: %d %s", down.status, down.body)
	}
}

func TestAPICounter(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	r := getOK(t, a.url+"/api/counter")
	wantKeys(t, "counter", r, "stats", "message")
	stats := obj(r["stats"])
	want := map[string]int64{
		"orders:billing:" + c.a.addr(): 90,
		"orders:audit:" + c.a.addr():   0,
		"orders:billing:" + c.b.addr(): 40,
	}
	if len(stats) != len(want) {
		t.Fatalf("stats = %v", stats)
	}
	for k, n := range want {
		s := obj(stats[k])
		wantKeys(t, k, s, "node", "topic_name", "channel_name", "message_count")
		if num(s["message_count"]) != n {
			t.Errorf("%s = %v, want %d", k, s, n)
		}
	}
}

// Faults: a node down, slow or garbled, a lookupd answering garbage.
// Partial failures give 200 with a WARNING naming the node; total ones 502.
func TestAPIFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		break_  func(c *fakeCluster)
		path    string
		status  int
		message string // prefix
		contain string
	}{
		{"one nsqd down", func(c *fakeCluster) { c.b.set(func(f *fakeNSQD) { f.broken = true }) },
			"/api/topics/orders", 200, "WARNING: GET http://", `got response 500 Internal Server Error "{\"message\":\"INTERNAL_ERROR\"}"`},
		{"one nsqd closed", func(c *fakeCluster) { c.b.srv.Close() }, "/api/topics/orders", 200, "WARNING: ", "connect"},
		{"one nsqd slow", func(c *fakeCluster) { c.b.set(func(f *fakeNSQD) { f.delay = time.Minute }) },
			"/api/topics/orders", 200, "WARNING: ", timedOut},
		{"one nsqd garbage", func(c *fakeCluster) { c.b.set(func(f *fakeNSQD) { f.garbage = "<html>oops" }) },
			"/api/topics/orders/billing", 200, "WARNING: ", "invalid character"},
		{"all nsqd down", func(c *fakeCluster) {
			c.a.set(func(f *fakeNSQD) { f.broken = true })
			c.b.set(func(f *fakeNSQD) { f.broken = true })
		}, "/api/topics/orders", 502, "UPSTREAM_ERROR: failed to query any nsqd: ", "INTERNAL_ERROR"},
		{"lookupd garbage", func(c *fakeCluster) { c.lookupd.set(func(l *fakeLookupd) { l.garbage = "{not json" }) },
			"/api/topics", 502, "UPSTREAM_ERROR: failed to query any nsqlookupd: ", "invalid character"},
		{"lookupd garbage nodes", func(c *fakeCluster) { c.lookupd.set(func(l *fakeLookupd) { l.garbage = `{"producers":"x"}` }) },
			"/api/nodes", 502, "UPSTREAM_ERROR: failed to query any nsqlookupd: ", "cannot unmarshal"},
		{"lookupd slow", func(c *fakeCluster) { c.lookupd.set(func(l *fakeLookupd) { l.delay = time.Minute }) },
			"/api/counter", 502, "UPSTREAM_ERROR: ", timedOut},
		{"one nsqd down, counter", func(c *fakeCluster) { c.a.set(func(f *fakeNSQD) { f.broken = true }) },
			"/api/counter", 200, "WARNING: ", "500"},
		{"one nsqd down, overview", func(c *fakeCluster) { c.a.set(func(f *fakeNSQD) { f.broken = true }) },
			"/api/overview", 200, "WARNING: ", "500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			a := startAdmin(t, func(o *Options) {
				c.lookupdMode(o)
				// the slow fakes never answer in time; the healthy ones
				// must, also on a loaded machine
				o.HTTPClientRequestTimeout = 3 * time.Second
			})
			tc.break_(c)
			r := call(t, "GET", a.url+tc.path, nil)
			if r.status != tc.status || !strings.HasPrefix(r.message(), tc.message) || !mentions(r.message(), tc.contain) {
				t.Errorf("got %d %s\nwant %d %q...%q", r.status, r.body, tc.status, tc.message, tc.contain)
			}
		})
	}
	t.Run("two lookupds, one garbage", func(t *testing.T) {
		c := newFakeCluster(t)
		bad := newFakeLookupd(t)
		bad.set(func(l *fakeLookupd) { l.garbage = "garbage" })
		a := startAdmin(t, func(o *Options) { o.NSQLookupdHTTPAddresses = []string{c.lookupd.addr(), bad.addr()} })
		r := call(t, "GET", a.url+"/api/topics", nil)
		if r.status != 200 || len(list(r.json["topics"])) != 4 || !strings.Contains(r.message(), bad.addr()) {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
}

func TestAPIOverview(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	r := getOK(t, a.url+"/api/overview")
	wantKeys(t, "overview", r, "topics", "node_count", "history_samples", "message")
	topics := list(r["topics"])
	var names []string
	for _, x := range topics {
		names = append(names, obj(x)["topic_name"].(string))
	}
	if strings.Join(names, ",") != "events,keep,newt,orders" || num(r["node_count"]) != 2 {
		t.Fatalf("topics = %v, nodes %v", names, r["node_count"])
	}
	orders := obj(topics[3])
	wantKeys(t, "overview topic", orders, "topic_name", "depth", "backlog", "in_flight_count", "deferred_count",
		"message_count", "rate", "channel_count", "node_count", "client_count", "paused", "growing", "channels")
	for k, want := range map[string]int64{"depth": 6, "backlog": 19, "in_flight_count": 2, "deferred_count": 1,
		"message_count": 150, "channel_count": 2, "node_count": 2, "client_count": 3} {
		if num(orders[k]) != want {
			t.Errorf("orders %s = %v, want %d", k, orders[k], want)
		}
	}
	billing := obj(list(orders["channels"])[1])
	wantKeys(t, "overview channel", billing, "channel_name", "depth", "in_flight_count", "deferred_count",
		"message_count", "requeue_count", "timeout_count", "client_count", "paused", "rate", "growing")
	if billing["paused"] != true || num(billing["depth"]) != 13 {
		t.Errorf("billing = %v", billing)
	}
	if newt := obj(topics[2]); num(newt["node_count"]) != 0 || len(list(newt["channels"])) != 0 {
		t.Errorf("newt = %v", newt)
	}
}

// timedOut, as the text a TestAPIFaults case wants, stands for any of the
// ways net/http reports an upstream timeout: "timeout awaiting response
// headers" (the transport's header timer), "Client.Timeout exceeded" (the
// client's), or plain "context deadline exceeded" when the client's
// deadline context ends the request before the client's own timer
// goroutine records the timeout (it does for a RoundTripper it does not
// know, such as nsqadmin's metrics wrapper).
const timedOut = "<timed out>"

// mentions reports whether s contains want, ignoring case, or, for
// timedOut, any of the timeout texts.
func mentions(s, want string) bool {
	if want == timedOut {
		return mentions(s, "timeout") || mentions(s, context.DeadlineExceeded.Error())
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(want))
}
