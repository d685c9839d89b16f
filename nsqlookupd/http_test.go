package nsqlookupd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	jsonType = "application/json; charset=utf-8"
	textType = "text/plain; charset=utf-8"
)

func TestHTTPEndpoints(t *testing.T) {
	n := mustStart(t)
	mustPost(t, n, "/channel/create?topic=have&channel=ch")
	cases := []struct {
		method, path string
		status       int
		body         string // exact body
		ctype        string
		xnsq         bool   // X-NSQ-Content-Type expected
		allow        string // expected Allow header, if any
	}{
		{"GET", "/ping", 200, "OK", textType, false, ""},
		{"GET", "/info", 200, `{"version":"1.3.0"}`, jsonType, true, ""},
		{"GET", "/topics", 200, `{"topics":["have"]}`, jsonType, true, ""},
		{"GET", "/channels", 400, `{"message":"MISSING_ARG_TOPIC"}`, jsonType, true, ""},
		{"GET", "/channels?topic=nope", 200, `{"channels":[]}`, jsonType, true, ""},
		{"GET", "/channels?topic=", 200, `{"channels":[]}`, jsonType, true, ""},
		{"GET", "/channels?topic=have", 200, `{"channels":["ch"]}`, jsonType, true, ""},
		{"GET", "/channels?topic=*", 200, `{"channels":[]}`, jsonType, true, ""},
		{"GET", "/lookup", 400, `{"message":"MISSING_ARG_TOPIC"}`, jsonType, true, ""},
		{"GET", "/lookup?topic=nope", 404, `{"message":"TOPIC_NOT_FOUND"}`, jsonType, true, ""},
		{"GET", "/lookup?topic=*", 404, `{"message":"TOPIC_NOT_FOUND"}`, jsonType, true, ""},
		{"GET", "/lookup?topic=have", 200, `{"channels":["ch"],"producers":[]}`, jsonType, true, ""},
		{"GET", "/lookup?topic=%zz", 400, `{"message":"INVALID_REQUEST"}`, jsonType, true, ""},
		{"GET", "/lookup?channel=x&topic=have&topic=nope", 200, `{"channels":["ch"],"producers":[]}`, jsonType, true, ""},
		{"GET", "/nodes", 200, `{"producers":[]}`, jsonType, true, ""},
		{"GET", "/debug", 200, `{}`, jsonType, true, ""},

		{"POST", "/topic/create", 400, `{"message":"MISSING_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/topic/create?topic=", 400, `{"message":"INVALID_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/topic/create?topic=bad!", 400, `{"message":"INVALID_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/topic/create?topic=" + strings.Repeat("a", 65), 400, `{"message":"INVALID_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/topic/create?topic=%zz", 400, `{"message":"INVALID_REQUEST"}`, jsonType, true, ""},
		{"POST", "/topic/delete", 400, `{"message":"MISSING_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/topic/delete?topic=absent", 200, "", "", true, ""},
		{"POST", "/topic/delete?topic=bad!", 200, "", "", true, ""},
		{"POST", "/topic/tombstone", 400, `{"message":"MISSING_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/topic/tombstone?topic=have", 400, `{"message":"MISSING_ARG_NODE"}`, jsonType, true, ""},
		{"POST", "/topic/tombstone?topic=absent&node=x:1", 200, "", "", true, ""},
		{"POST", "/channel/create", 400, `{"message":"MISSING_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/channel/create?topic=bad!&channel=c", 400, `{"message":"INVALID_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/channel/create?topic=t", 400, `{"message":"MISSING_ARG_CHANNEL"}`, jsonType, true, ""},
		{"POST", "/channel/create?topic=t&channel=", 400, `{"message":"INVALID_ARG_CHANNEL"}`, jsonType, true, ""},
		{"POST", "/channel/create?topic=t&channel=a%20b", 400, `{"message":"INVALID_ARG_CHANNEL"}`, jsonType, true, ""},
		{"POST", "/channel/delete", 400, `{"message":"MISSING_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/channel/delete?topic=&channel=c", 400, `{"message":"INVALID_ARG_TOPIC"}`, jsonType, true, ""},
		{"POST", "/channel/delete?topic=t", 400, `{"message":"MISSING_ARG_CHANNEL"}`, jsonType, true, ""},
		{"POST", "/channel/delete?topic=t&channel=bad!", 400, `{"message":"INVALID_ARG_CHANNEL"}`, jsonType, true, ""},
		{"POST", "/channel/delete?topic=have&channel=nope", 404, `{"message":"CHANNEL_NOT_FOUND"}`, jsonType, true, ""},

		{"GET", "/nope", 404, `{"message":"NOT_FOUND"}`, jsonType, true, ""},
		{"DELETE", "/nope", 404, `{"message":"NOT_FOUND"}`, jsonType, true, ""},
		{"POST", "/ping", 405, `{"message":"METHOD_NOT_ALLOWED"}`, jsonType, true, "GET, OPTIONS"},
		{"PUT", "/lookup", 405, `{"message":"METHOD_NOT_ALLOWED"}`, jsonType, true, "GET, OPTIONS"},
		{"GET", "/topic/create", 405, `{"message":"METHOD_NOT_ALLOWED"}`, jsonType, true, "OPTIONS, POST"},
		{"GET", "/channel/delete?topic=have&channel=ch", 405, `{"message":"METHOD_NOT_ALLOWED"}`, jsonType, true, "OPTIONS, POST"},
		{"OPTIONS", "/lookup", 200, "", "", false, "GET, OPTIONS"},
		{"OPTIONS", "/topic/tombstone", 200, "", "", false, "OPTIONS, POST"},
		{"OPTIONS", "/debug/pprof/symbol", 200, "", "", false, "GET, OPTIONS, POST"},
		{"GET", "/debug/pprof/allocs", 404, `{"message":"NOT_FOUND"}`, jsonType, true, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := request(t, n, c.method, c.path)
			if r.status != c.status || r.body != c.body {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, c.status, c.body)
			}
			if got := r.header.Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if got := r.header.Get("X-NSQ-Content-Type"); (got == "nsq; version=1.0") != c.xnsq {
				t.Errorf("X-NSQ-Content-Type %q, want present=%v", got, c.xnsq)
			}
			if c.allow != "" && r.header.Get("Allow") != c.allow {
				t.Errorf("Allow %q, want %q", r.header.Get("Allow"), c.allow)
			}
		})
	}
	// the failed and no-op writes changed nothing
	expectEq(t, "topics", topicsOf(t, n), "have")
	expectEq(t, "channels", channelsOf(t, n, "have"), "ch")
}

func TestPprofRoutes(t *testing.T) {
	n := mustStart(t)
	r := request(t, n, "GET", "/debug/pprof/")
	if r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/debug/pprof" {
		t.Fatalf("/debug/pprof/: %d Location %q", r.status, r.header.Get("Location"))
	}
	for _, c := range []struct{ method, path, ctypePrefix string }{
		{"GET", "/debug/pprof", "text/html"},
		{"GET", "/debug/pprof/cmdline", "text/plain"},
		{"GET", "/debug/pprof/symbol", "text/plain"},
		{"POST", "/debug/pprof/symbol", "text/plain"},
		{"GET", "/debug/pprof/heap?debug=1", "text/plain"},
		{"GET", "/debug/pprof/goroutine?debug=1", "text/plain"},
		{"GET", "/debug/pprof/block?debug=1", "text/plain"},
		{"GET", "/debug/pprof/threadcreate?debug=1", "text/plain"},
		{"GET", "/debug/pprof/profile?seconds=1", "application/octet-stream"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := request(t, n, c.method, c.path)
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), c.ctypePrefix) {
				t.Fatalf("%d %q %.200q", r.status, r.header.Get("Content-Type"), r.body)
			}
		})
	}
}

func TestLookupShape(t *testing.T) {
	n := mustStart(t)
	p := dial(t, n)
	info := peerInfoFor("nsqd.example", 4150, 4151)
	info["topology_zone"] = "z"
	info["topology_region"] = "r"
	p.identify(info)
	p.mustOK("REGISTER t c1")
	p.mustOK("REGISTER t c0")
	r := request(t, n, "GET", "/lookup?topic=t")
	want := fmt.Sprintf(`{"channels":["c0","c1"],"producers":[{"remote_address":%q,"hostname":"nsqd.example-host","broadcast_address":"nsqd.example","tcp_port":4150,"http_port":4151,"version":"1.3.0","topology_zone":"z","topology_region":"r"}]}`, p.localAddr())
	if r.status != 200 || r.body != want {
		t.Fatalf("/lookup\n got %d %s\nwant %s", r.status, r.body, want)
	}
}

func TestDebugShape(t *testing.T) {
	n := mustStart(t, func(o *Options) { o.TombstoneLifetime = time.Hour })
	mustPost(t, n, "/topic/create?topic=empty")
	expectEq(t, "debug with only empty keys", request(t, n, "GET", "/debug").body, "{}")

	p := identified(t, n, "b", 1, 2)
	p.mustOK("REGISTER t")
	var dbg map[string][]map[string]any
	getJSON(t, n, "/debug", &dbg)
	var raw map[string][]json.RawMessage
	getJSON(t, n, "/debug", &raw)
	entry := string(raw["topic:t:"][0])
	lastUpdate := int64(dbg["topic:t:"][0]["last_update"].(float64))
	if lastUpdate <= 0 {
		t.Fatalf("last_update %d", lastUpdate)
	}
	// float64 loses precision on large values, so rebuild the expected
	// text from the raw number
	var lu struct {
		LastUpdate json.Number `json:"last_update"`
	}
	json.Unmarshal(raw["topic:t:"][0], &lu)
	want := fmt.Sprintf(`{"broadcast_address":"b","hostname":"b-host","http_port":2,"id":%q,"last_update":%s,"tcp_port":1,"tombstoned":false,"tombstoned_at":-6795364578871345152,"topology_region":"","topology_zone":"","version":"1.3.0"}`,
		p.localAddr(), lu.LastUpdate)
	if entry != want {
		t.Fatalf("/debug entry\n got %s\nwant %s", entry, want)
	}
	if len(raw) != 2 || len(raw["client::"]) != 1 {
		t.Fatalf("/debug keys: %v", raw)
	}

	before := time.Now().UnixNano()
	mustPost(t, n, "/topic/tombstone?topic=t&node=b:2")
	var after map[string][]debugEntry
	getJSON(t, n, "/debug", &after)
	e := after["topic:t:"][0]
	if !e.Tombstoned || e.TombstonedAt < before {
		t.Fatalf("after tombstone: %+v (before %d)", e, before)
	}
	if c := after["client::"][0]; c.Tombstoned {
		t.Fatalf("client:: entry tombstoned: %+v", c)
	}
}

func TestTombstone(t *testing.T) {
	const lifetime = 500 * time.Millisecond
	n := mustStart(t, func(o *Options) { o.TombstoneLifetime = lifetime })
	p1 := identified(t, n, "b1", 4150, 4151)
	p2 := identified(t, n, "b2", 5150, 5151)
	for _, p := range []*peer{p1, p2} {
		p.mustOK("REGISTER t c")
		p.mustOK("REGISTER u")
	}
	mustPost(t, n, "/topic/tombstone?topic=t&node=b1:4150") // tcp port: no match
	mustPost(t, n, "/topic/tombstone?topic=t&node=b9:4151") // unknown node
	expectEq(t, "producers", producerAddrs(t, n, "t"), "b1:4150,b2:5150")

	mustPost(t, n, "/topic/tombstone?topic=t&node=b1:4151")
	tombstoned := func() map[string][]bool {
		out := map[string][]bool{}
		for _, nd := range nodesOf(t, n) {
			out[nd.BroadcastAddress] = nd.Tombstones
			expectEq(t, nd.BroadcastAddress+" topics", strings.Join(nd.Topics, ","), "t,u")
		}
		return out
	}
	// The lifetime is short, so each check may already see it expired;
	// assert what must hold either way, then wait for the expiry.
	if got := producerAddrs(t, n, "t"); got != "b2:5150" && got != "b1:4150,b2:5150" {
		t.Fatalf("producers of t while tombstoned: %q", got)
	}
	expectEq(t, "producers of u", producerAddrs(t, n, "u"), "b1:4150,b2:5150")
	ts := tombstoned()
	if fmt.Sprint(ts["b2"]) != "[false false]" || ts["b1"][1] {
		t.Fatalf("tombstones: %v", ts)
	}
	eventually(t, func() bool { return producerAddrs(t, n, "t") == "b1:4150,b2:5150" }, "tombstoned producer did not come back")
	if ts := tombstoned(); fmt.Sprint(ts["b1"]) != "[false false]" {
		t.Fatalf("tombstones after lifetime: %v", ts)
	}
}

func TestTombstoneHidesUntilLifetime(t *testing.T) {
	n := mustStart(t, func(o *Options) { o.TombstoneLifetime = time.Hour })
	p1 := identified(t, n, "b1", 4150, 4151)
	p2 := identified(t, n, "b2", 5150, 5151)
	for _, p := range []*peer{p1, p2} {
		p.mustOK("REGISTER t c")
		p.mustOK("REGISTER u")
	}
	mustPost(t, n, "/topic/tombstone?topic=t&node=b1:4151")
	expectEq(t, "producers of t", producerAddrs(t, n, "t"), "b2:5150")
	expectEq(t, "producers of u", producerAddrs(t, n, "u"), "b1:4150,b2:5150")
	for _, nd := range nodesOf(t, n) {
		want := "[false false]"
		if nd.BroadcastAddress == "b1" {
			want = "[true false]"
		}
		if got := fmt.Sprint(nd.Tombstones); got != want || strings.Join(nd.Topics, ",") != "t,u" {
			t.Fatalf("node %s: topics %v tombstones %s, want %s", nd.BroadcastAddress, nd.Topics, got, want)
		}
	}

	// re-registering does not lift a tombstone
	p1.mustOK("REGISTER t")
	p1.mustOK("REGISTER t c2")
	expectEq(t, "producers after re-REGISTER", producerAddrs(t, n, "t"), "b2:5150")
	// nsqadmin's follow-up: the nsqd deletes the topic and UNREGISTERs
	p1.mustOK("UNREGISTER t")
	expectEq(t, "producers after UNREGISTER", producerAddrs(t, n, "t"), "b2:5150")
	// a fresh REGISTER after UNREGISTER is a new, untombstoned entry
	p1.mustOK("REGISTER t")
	expectEq(t, "producers after new REGISTER", producerAddrs(t, n, "t"), "b1:4150,b2:5150")
}

func TestInactiveProducer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	n := mustStart(t, func(o *Options) { o.InactiveProducerTimeout = timeout })
	p := identified(t, n, "b", 1, 2)
	p.mustOK("REGISTER t")
	visible := func() bool {
		return producerAddrs(t, n, "t") == "b:1" && len(nodesOf(t, n)) == 1
	}
	// right after a PING the producer is active (retry: the machine may be slow)
	eventually(t, func() bool { p.mustOK("PING"); return visible() }, "producer not visible after PING")
	// without PINGs it is hidden from /lookup and /nodes, but not removed
	eventually(t, func() bool {
		return producerAddrs(t, n, "t") == "" && len(nodesOf(t, n)) == 0
	}, "inactive producer still listed")
	expectEq(t, "topics", topicsOf(t, n), "t")
	expectEq(t, "debug keys", debugKeys(t, n), "client:: topic:t:")
	eventually(t, func() bool { p.mustOK("PING"); return visible() }, "producer not visible again after PING")
}

func TestNodesArrays(t *testing.T) {
	n := mustStart(t, func(o *Options) { o.TombstoneLifetime = time.Hour })
	p := identified(t, n, "b", 1, 2)
	identified(t, n, "bare", 1, 2)
	var topics []string
	for i := range 20 {
		topic := fmt.Sprintf("t%02d", i)
		topics = append(topics, topic)
		p.mustOK("REGISTER " + topic + " c")
		if i%3 == 0 {
			mustPost(t, n, "/topic/tombstone?topic="+topic+"&node=b:2")
		}
	}
	p.mustOK("UNREGISTER t05")
	p.mustOK("UNREGISTER t06") // was tombstoned
	mustPost(t, n, "/topic/delete?topic=t07")
	mustPost(t, n, "/topic/create?topic=other")
	for _, nd := range nodesOf(t, n) { // nodesOf checks the lengths match
		if nd.BroadcastAddress == "bare" {
			if nd.Topics == nil || nd.Tombstones == nil || len(nd.Topics) != 0 {
				t.Fatalf("bare node: %+v", nd)
			}
			continue
		}
		if len(nd.Topics) != 17 {
			t.Fatalf("topics %v", nd.Topics)
		}
		for i, topic := range nd.Topics {
			var num int
			fmt.Sscanf(topic, "t%d", &num)
			if want := num%3 == 0; nd.Tombstones[i] != want {
				t.Errorf("%s tombstoned %v, want %v", topic, nd.Tombstones[i], want)
			}
		}
	}
	r := request(t, n, "GET", "/nodes")
	if !strings.Contains(r.body, `"tombstones":[],"topics":[]`) {
		t.Fatalf("bare node arrays not [] in %s", r.body)
	}
}

func TestTopicAndChannelAdmin(t *testing.T) {
	n := mustStart(t)
	p := identified(t, n, "b", 1, 2)

	mustPost(t, n, "/topic/create?topic=made")
	mustPost(t, n, "/topic/create?topic=made") // idempotent
	res, ok := lookup(t, n, "made")
	if !ok || res.Channels == nil || res.Producers == nil || len(res.Channels)+len(res.Producers) != 0 {
		t.Fatalf("created topic lookup: %v %+v", ok, res)
	}

	mustPost(t, n, "/channel/create?topic=made2&channel=ch")
	expectEq(t, "topics", topicsOf(t, n), "made,made2")
	expectEq(t, "channels", channelsOf(t, n, "made2"), "ch")

	p.mustOK("REGISTER t c1")
	p.mustOK("REGISTER t c2")
	mustPost(t, n, "/channel/delete?topic=t&channel=c1")
	expectEq(t, "channels after delete", channelsOf(t, n, "t"), "c2")
	if r := request(t, n, "POST", "/channel/delete?topic=t&channel=c1"); r.status != 404 {
		t.Fatalf("second channel delete: %d %s", r.status, r.body)
	}
	expectEq(t, "producers after channel delete", producerAddrs(t, n, "t"), "b:1")

	mustPost(t, n, "/topic/delete?topic=t")
	if _, ok := lookup(t, n, "t"); ok {
		t.Fatal("deleted topic still found")
	}
	expectEq(t, "channels after topic delete", channelsOf(t, n, "t"), "")
	expectEq(t, "topics after topic delete", topicsOf(t, n), "made,made2")
	if nd := nodesOf(t, n); len(nd) != 1 || len(nd[0].Topics) != 0 {
		t.Fatalf("nodes after topic delete: %+v", nd)
	}
	// the nsqd is not told; it reappears when it registers again
	p.mustOK("REGISTER t c2")
	expectEq(t, "producers after re-REGISTER", producerAddrs(t, n, "t"), "b:1")
	expectEq(t, "channels after re-REGISTER", channelsOf(t, n, "t"), "c2")
}
