package nsqadmin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
)

// serveReplayLocked answers the replay routes of CONTRACTS A the way our
// nsqd does, from the fake topic's retained publish times: a rewind or a
// new channel from a point delivers the retained messages published at or
// after it. It reports whether it answered. An nsqd without storage (NSQ's)
// has no /channel/rewind and takes /channel/create?start= as a plain
// create, which is why nsqadmin must never send it one.
func (f *fakeNSQD) serveReplayLocked(w http.ResponseWriter, path string, q url.Values) bool {
	rewind := path == "/channel/rewind"
	if f.storage == "" || (!rewind && (path != "/channel/create" || !q.Has("start"))) {
		return false
	}
	fail := func(code int, text string) bool {
		httpapi.RespondV1(w, code, httpapi.Err{Code: code, Text: text})
		return true
	}
	switch {
	case f.replayStatus != 0:
		return fail(f.replayStatus, "FAKE_FAILURE")
	case f.storage != clusterinfo.StorageLog:
		return fail(400, "REPLAY_REQUIRES_LOG_STORAGE")
	}
	t := f.topics[q.Get("topic")]
	if t == nil {
		return fail(404, "TOPIC_NOT_FOUND")
	}
	c := t.channels[q.Get("channel")]
	point, badPoint := q.Get("start"), "INVALID_START"
	if rewind {
		point, badPoint = q.Get("to"), "INVALID_TO"
	}
	switch {
	case rewind && c == nil:
		return fail(404, "CHANNEL_NOT_FOUND")
	case !rewind && c != nil:
		return fail(400, "CHANNEL_EXISTS")
	}
	var from int64
	switch point {
	case "earliest":
	case "latest":
		if rewind {
			return fail(400, badPoint)
		}
		from = 1 << 62
	default:
		ms, err := strconv.ParseInt(point, 10, 64)
		if err != nil || ms < 0 {
			return fail(400, badPoint)
		}
		from = ms
	}
	var count int64
	for _, ts := range t.retained {
		if ts >= from {
			count++
		}
	}
	if q.Get("dry_run") != "true" {
		if c == nil {
			c = &fakeChannel{}
			t.channels[q.Get("channel")] = c
		}
		c.depth = count
	}
	httpapi.RespondV1(w, 200, map[string]int64{"messages": count})
	return true
}

// depth is topic/channel's depth on the fake and whether it exists,
// read under the fake's lock (nsqadmin's calls may still be landing).
func (f *fakeNSQD) depth(topic, channel string) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.topics[topic]
	if t == nil || t.channels[channel] == nil {
		return 0, false
	}
	return t.channels[channel].depth, true
}

// replayCluster is the fake cluster with both nodes in log mode: orders
// retains 3 messages on a (published at 1000, 2000, 3000 ms) and 2 on b
// (1500, 2500); billing is on both nodes, audit on a only.
func replayCluster(t *testing.T) *fakeCluster {
	c := newFakeCluster(t)
	c.a.set(func(f *fakeNSQD) { f.storage = "log"; f.topics["orders"].retained = []int64{1000, 2000, 3000} })
	c.b.set(func(f *fakeNSQD) { f.storage = "log"; f.topics["orders"].retained = []int64{1500, 2500} })
	return c
}

// replayCalls returns the node's calls to the replay routes.
func replayCalls(f *fakeNSQD) []string {
	var out []string
	for _, c := range f.callLog() {
		if strings.Contains(c, "/channel/rewind") || strings.Contains(c, "start=") {
			out = append(out, c)
		}
	}
	return out
}

// replayNodes maps a reply's "nodes" to node → messages.
func replayNodes(r *reply) map[string]int64 {
	out := map[string]int64{}
	for _, n := range list(r.json["nodes"]) {
		out[obj(n)["node"].(string)] = num(obj(n)["messages"])
	}
	return out
}

func TestReplayStatus(t *testing.T) {
	c := replayCluster(t)
	a := startAdmin(t, c.lookupdMode)
	r := getOK(t, a.url+"/api/replay/orders")
	wantKeys(t, "replay", r, "topic", "enabled", "reason", "log_nodes", "retained_from_ms", "nodes", "message")
	if r["enabled"] != true || num(r["log_nodes"]) != 2 || num(r["retained_from_ms"]) != 1000 || len(list(r["nodes"])) != 2 {
		t.Errorf("both in log mode: %v", r)
	}
	wantKeys(t, "replay node", list(r["nodes"])[0], "node", "storage", "retained_from_ms", "replicated")

	c.a.set(func(f *fakeNSQD) { f.storage = "diskqueue" })
	c.b.set(func(f *fakeNSQD) { f.storage = "" })
	r = getOK(t, a.url+"/api/replay/orders")
	reason, _ := r["reason"].(string)
	if r["enabled"] != false || num(r["log_nodes"]) != 0 || !strings.Contains(reason, "--storage=log") ||
		!strings.Contains(reason, "1 with --storage=diskqueue") || !strings.Contains(reason, "1 without replay support") {
		t.Errorf("no log node: %v", r)
	}
	// our nsqd refuses replay while it replicates its log
	c.a.set(func(f *fakeNSQD) { f.storage = "log"; f.replication = sampleReplication() })
	r = getOK(t, a.url+"/api/replay/orders")
	reason, _ = r["reason"].(string)
	if r["enabled"] != false || !strings.Contains(reason, "1 replicated") {
		t.Errorf("replicated log node: %v", r)
	}
	before := len(replayCalls(c.a))
	rw := call(t, "POST", a.url+"/api/topics/orders/billing", map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
	if rw.status != 400 || rw.message() != "REPLAY_NOT_SUPPORTED_WITH_REPLICATION" || len(replayCalls(c.a)) != before {
		t.Errorf("rewind on a replicated node: %d %s", rw.status, rw.body)
	}
	if r := call(t, "GET", a.url+"/api/replay/nope", nil); r.status != 404 || r.message() != "TOPIC_NOT_FOUND" {
		t.Errorf("unknown topic: %d %s", r.status, r.body)
	}
}

func TestReplayRewind(t *testing.T) {
	c := replayCluster(t)
	sink := newNotifySink(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
	billing := a.url + "/api/topics/orders/billing"

	r := call(t, "POST", billing, map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
	if r.status != 200 || num(r.json["messages"]) != 5 || r.message() != "" {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	wantKeys(t, "rewind", r.json, "messages", "nodes", "message")
	if got := replayNodes(r); got[c.a.addr()] != 3 || got[c.b.addr()] != 2 || len(got) != 2 {
		t.Errorf("dry run nodes %v", got)
	}
	if d, _ := c.a.depth("orders", "billing"); d != 10 {
		t.Errorf("a dry run changed the depth to %d", d)
	}
	want := "POST /channel/rewind?" + q("channel", "billing", "dry_run", "true", "to", "earliest", "topic", "orders")
	if got := replayCalls(c.a); len(got) != 1 || got[0] != want {
		t.Errorf("a's calls %v, want %s", got, want)
	}
	if len(sink.all()) != 0 {
		t.Errorf("a dry run notified: %v", sink.all())
	}

	r = call(t, "POST", billing, map[string]any{"action": "rewind", "to": "2000"})
	if r.status != 200 || num(r.json["messages"]) != 3 {
		t.Fatalf("rewind: %d %s", r.status, r.body)
	}
	da, _ := c.a.depth("orders", "billing")
	db, _ := c.b.depth("orders", "billing")
	if da != 2 || db != 1 {
		t.Errorf("depths after the rewind %d, %d; want 2, 1", da, db)
	}
	if got := waitNotifications(t, sink, 1); got[0]["action"] != "rewind_channel" || got[0]["channel"] != "billing" {
		t.Errorf("notification %v", got)
	}

	t.Run("only the nodes with the channel", func(t *testing.T) {
		r := call(t, "POST", a.url+"/api/topics/orders/audit", map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
		if got := replayNodes(r); r.status != 200 || len(got) != 1 || got[c.a.addr()] != 3 {
			t.Errorf("audit: %d %s", r.status, r.body)
		}
		for _, call := range replayCalls(c.b) {
			if strings.Contains(call, "audit") {
				t.Errorf("b was asked to rewind a channel it does not have: %s", call)
			}
		}
	})

	t.Run("bad input reaches no node", func(t *testing.T) {
		before := len(replayCalls(c.a)) + len(replayCalls(c.b))
		for _, tc := range []struct {
			path string
			body any
			code int
			msg  string
		}{
			{"/api/topics/orders/billing", map[string]any{"action": "rewind"}, 400, "MISSING_ARG_TO"},
			{"/api/topics/orders/billing", map[string]any{"action": "rewind", "to": "yesterday"}, 400, "INVALID_TO"},
			{"/api/topics/orders/billing", map[string]any{"action": "rewind", "to": "-5"}, 400, "INVALID_TO"},
			{"/api/topics/orders/billing", map[string]any{"action": "rewind", "to": "latest"}, 400, "INVALID_TO"},
			{"/api/topics/orders", map[string]any{"action": "rewind", "to": "earliest"}, 400, "INVALID_ACTION"},
			{"/api/topics/orders/nope", map[string]any{"action": "rewind", "to": "earliest"}, 404, "CHANNEL_NOT_FOUND"},
			{"/api/topics/nope/billing", map[string]any{"action": "rewind", "to": "earliest"}, 404, "TOPIC_NOT_FOUND"},
			{"/api/topics/orders/bad%20name", map[string]any{"action": "rewind", "to": "earliest"}, 400, "INVALID_ARG_CHANNEL"},
		} {
			r := call(t, "POST", a.url+tc.path, tc.body)
			if r.status != tc.code || r.message() != tc.msg {
				t.Errorf("%s %v: %d %s, want %d %s", tc.path, tc.body, r.status, r.body, tc.code, tc.msg)
			}
		}
		if after := len(replayCalls(c.a)) + len(replayCalls(c.b)); after != before {
			t.Errorf("bad input made %d replay calls", after-before)
		}
	})

	t.Run("a failing node is a warning", func(t *testing.T) {
		c.b.set(func(f *fakeNSQD) { f.replayStatus = 500 })
		defer c.b.set(func(f *fakeNSQD) { f.replayStatus = 0 })
		r := call(t, "POST", billing, map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
		if r.status != 200 || num(r.json["messages"]) != 3 || !strings.HasPrefix(r.message(), "WARNING: ") ||
			!strings.Contains(r.message(), c.b.addr()+": 500 FAKE_FAILURE") {
			t.Errorf("partial: %d %s", r.status, r.body)
		}
		c.a.set(func(f *fakeNSQD) { f.replayStatus = 500 })
		defer c.a.set(func(f *fakeNSQD) { f.replayStatus = 0 })
		r = call(t, "POST", billing, map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
		if r.status != 502 || !strings.HasPrefix(r.message(), "UPSTREAM_ERROR: ") || !strings.Contains(r.message(), c.a.addr()) {
			t.Errorf("all failed: %d %s", r.status, r.body)
		}
	})

	t.Run("a node that stops answering", func(t *testing.T) {
		c.b.set(func(f *fakeNSQD) { f.broken = true })
		defer c.b.set(func(f *fakeNSQD) { f.broken = false })
		r := call(t, "POST", billing, map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
		if r.status != 200 || num(r.json["messages"]) != 3 || !strings.Contains(r.message(), c.b.addr()) {
			t.Errorf("b down: %d %s", r.status, r.body)
		}
	})

	t.Run("storage other than log", func(t *testing.T) {
		c.b.set(func(f *fakeNSQD) { f.storage = "diskqueue" })
		r := call(t, "POST", billing, map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
		if got := replayNodes(r); r.status != 200 || len(got) != 1 || !strings.Contains(r.message(), c.b.addr()+": REPLAY_REQUIRES_LOG_STORAGE") {
			t.Errorf("b in diskqueue mode: %d %s", r.status, r.body)
		}
		c.a.set(func(f *fakeNSQD) { f.storage = "" })
		before := len(c.a.callLog())
		r = call(t, "POST", billing, map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
		if r.status != 400 || r.message() != "REPLAY_REQUIRES_LOG_STORAGE" {
			t.Errorf("no log node: %d %s", r.status, r.body)
		}
		for _, call := range c.a.callLog()[before:] {
			if strings.HasPrefix(call, "POST") {
				t.Errorf("an nsqd without replay support was sent %s", call)
			}
		}
	})
}

func TestReplayCreateFrom(t *testing.T) {
	c := replayCluster(t)
	sink := newNotifySink(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
	create := a.url + "/api/topics"

	r := call(t, "POST", create, map[string]any{"topic": "orders", "channel": "replica", "start": "earliest", "dry_run": true})
	if r.status != 200 || num(r.json["messages"]) != 5 || len(replayNodes(r)) != 2 {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	_, onA := c.a.depth("orders", "replica")
	_, onB := c.b.depth("orders", "replica")
	if onA || onB {
		t.Fatal("a dry run created the channel")
	}
	for _, l := range posts(c.lookupd.callLog()) {
		t.Errorf("a dry run called the lookupd: %s", l)
	}

	r = call(t, "POST", create, map[string]any{"topic": "orders", "channel": "replica", "start": "2400"})
	if r.status != 200 || num(r.json["messages"]) != 2 || r.message() != "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	da, onA := c.a.depth("orders", "replica")
	db, onB := c.b.depth("orders", "replica")
	if !onA || !onB || da != 1 || db != 1 {
		t.Errorf("channels after create-from: %v %d, %v %d", onA, da, onB, db)
	}
	if got := posts(c.lookupd.callLog()); len(got) != 1 || got[0] != "POST /channel/create?"+q("channel", "replica", "topic", "orders") {
		t.Errorf("lookupd calls %v", got)
	}
	if got := waitNotifications(t, sink, 1); got[0]["action"] != "create_channel" || got[0]["channel"] != "replica" {
		t.Errorf("notification %v", got)
	}

	for _, tc := range []struct {
		body map[string]any
		code int
		msg  string
	}{
		{map[string]any{"topic": "orders", "channel": "replica", "start": "earliest"}, 400, "CHANNEL_EXISTS"},
		{map[string]any{"topic": "orders", "channel": "x", "start": "soon"}, 400, "INVALID_START"},
		{map[string]any{"topic": "orders", "start": "earliest"}, 400, "MISSING_ARG_CHANNEL"},
		{map[string]any{"topic": "orders", "channel": "a b", "start": "earliest"}, 400, "INVALID_CHANNEL"},
		{map[string]any{"topic": "nope", "channel": "x", "start": "earliest"}, 404, "TOPIC_NOT_FOUND"},
	} {
		r := call(t, "POST", create, tc.body)
		if r.status != tc.code || r.message() != tc.msg {
			t.Errorf("%v: %d %s, want %d %s", tc.body, r.status, r.body, tc.code, tc.msg)
		}
	}

	r = call(t, "POST", create, map[string]any{"topic": "orders", "channel": "tail", "start": "latest", "dry_run": true})
	if r.status != 200 || num(r.json["messages"]) != 0 || len(replayNodes(r)) != 2 {
		t.Errorf("latest: %d %s", r.status, r.body)
	}

	t.Run("an nsqd without replay support is never sent start", func(t *testing.T) {
		c.b.set(func(f *fakeNSQD) { f.storage = "" })
		r := call(t, "POST", create, map[string]any{"topic": "orders", "channel": "only-a", "start": "earliest"})
		if r.status != 200 || num(r.json["messages"]) != 3 || !strings.Contains(r.message(), c.b.addr()+": this nsqd has no replay support") {
			t.Errorf("mixed: %d %s", r.status, r.body)
		}
		if _, ok := c.b.depth("orders", "only-a"); ok {
			t.Error("the channel was created on the node without replay support")
		}
	})

	t.Run("nsqd mode", func(t *testing.T) {
		c2 := replayCluster(t)
		a2 := startAdmin(t, c2.nsqdMode)
		r := call(t, "POST", a2.url+"/api/topics", map[string]any{"topic": "orders", "channel": "n", "start": "earliest", "dry_run": true})
		if r.status != 200 || num(r.json["messages"]) != 5 {
			t.Errorf("nsqd mode: %d %s", r.status, r.body)
		}
	})
}
