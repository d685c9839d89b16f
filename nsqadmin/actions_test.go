package nsqadmin

import (
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// waitNotifications waits until sink holds n notifications and returns them.
func waitNotifications(tb testing.TB, sink *notifySink, n int) []map[string]any {
	tb.Helper()
	testutil.Eventually(tb, 5*time.Second, func() bool { return len(sink.all()) >= n }, "%d notifications", n)
	got := sink.all()
	if len(got) != n {
		tb.Fatalf("got %d notifications, want %d: %v", len(got), n, got)
	}
	return got
}

// posts returns the POSTs among calls, queries decoded for comparison.
func posts(calls []string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c, "POST ") {
			out = append(out, c)
		}
	}
	return out
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestActionCreate(t *testing.T) {
	c := newFakeCluster(t)
	sink := newNotifySink(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })

	r := call(t, "POST", a.url+"/api/topics", map[string]string{"topic": "orders", "channel": "fresh"})
	if r.status != 200 || string(r.body) != `{"message":""}` {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	wantLookupd := []string{
		"POST /topic/create?" + q("topic", "orders"),
		"POST /channel/create?" + q("topic", "orders", "channel", "fresh"),
	}
	if got := posts(c.lookupd.callLog()); !slices.Equal(got, wantLookupd) {
		t.Errorf("lookupd calls = %v, want %v", got, wantLookupd)
	}
	for _, n := range []*fakeNSQD{c.a, c.b} {
		if n.topic("orders").channels["fresh"] == nil {
			t.Errorf("%s: channel not created; calls %v", n.hostname, n.callLog())
		}
	}
	got := waitNotifications(t, sink, 2)
	if got[0]["action"] != "create_topic" || got[1]["action"] != "create_channel" || got[1]["channel"] != "fresh" {
		t.Errorf("notifications = %v", got)
	}
	if _, ok := got[0]["channel"]; ok {
		t.Errorf("create_topic must omit channel: %v", got[0])
	}

	t.Run("topic only", func(t *testing.T) {
		r := call(t, "POST", a.url+"/api/topics", map[string]string{"topic": "brand-new"})
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		waitNotifications(t, sink, 3)
	})
	// as in NSQ: in nsqd mode a topic is "created" (nothing to call) but a
	// channel cannot be, since only lookupds say which nsqds to create it on
	t.Run("nsqd mode calls nothing", func(t *testing.T) {
		c2 := newFakeCluster(t)
		a2 := startAdmin(t, c2.nsqdMode)
		r := call(t, "POST", a2.url+"/api/topics", map[string]string{"topic": "x"})
		if r.status != 200 || r.message() != "" {
			t.Fatalf("topic: %d %s", r.status, r.body)
		}
		r = call(t, "POST", a2.url+"/api/topics", map[string]string{"topic": "x", "channel": "y"})
		if r.status != 502 || r.message() != "UPSTREAM_ERROR: failed to query any nsqlookupd: " {
			t.Fatalf("channel: %d %s", r.status, r.body)
		}
		if p := append(posts(c2.a.callLog()), posts(c2.b.callLog())...); len(p) != 0 {
			t.Errorf("nsqd mode made calls: %v", p)
		}
	})
}

func TestActionValidation(t *testing.T) {
	c := newFakeCluster(t)
	sink := newNotifySink(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		message      string
	}{
		{"POST", "/api/topics", "not json", 400, "invalid character 'o' in literal null (expecting 'u')"},
		{"POST", "/api/topics", "", 400, "EOF"},
		{"POST", "/api/topics", map[string]string{"topic": "bad topic"}, 400, "INVALID_TOPIC"},
		{"POST", "/api/topics", map[string]string{"topic": ""}, 400, "INVALID_TOPIC"},
		{"POST", "/api/topics", map[string]string{"topic": "ok", "channel": "bad/ch"}, 400, "INVALID_CHANNEL"},
		{"POST", "/api/topics/orders", map[string]string{"action": "explode"}, 400, "INVALID_ACTION"},
		{"POST", "/api/topics/orders", "{", 400, "unexpected EOF"},
		{"POST", "/api/topics/orders/billing", map[string]string{"action": ""}, 400, "INVALID_ACTION"},
		{"DELETE", "/api/nodes/" + c.a.addr(), "nope", 400, "INVALID_BODY"},
		{"DELETE", "/api/nodes/" + c.a.addr(), map[string]string{"topic": "a b"}, 400, "INVALID_TOPIC"},
		{"PUT", "/api/topics", nil, 405, "METHOD_NOT_ALLOWED"},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.message, func(t *testing.T) {
			r := call(t, tc.method, a.url+tc.path, tc.body)
			if r.status != tc.status || r.message() != tc.message {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.message)
			}
		})
	}
	if p := append(posts(c.lookupd.callLog()), posts(c.a.callLog())...); len(p) != 0 {
		t.Errorf("rejected requests reached upstreams: %v", p)
	}
	// nothing was notified: the first notification is the next good action
	call(t, "POST", a.url+"/api/topics/orders", map[string]string{"action": "pause"})
	if got := waitNotifications(t, sink, 1); got[0]["action"] != "pause_topic" {
		t.Errorf("notifications = %v", got)
	}
}

func TestActionTopicChannel(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		body               any
		notify             string
		check              func(t *testing.T, c *fakeCluster)
	}{
		{"pause topic", "POST", "/api/topics/orders", map[string]string{"action": "pause"}, "pause_topic",
			func(t *testing.T, c *fakeCluster) {
				if !c.a.topic("orders").paused || !c.b.topic("orders").paused {
					t.Error("topic not paused on both nodes")
				}
			}},
		{"unpause topic", "POST", "/api/topics/orders", map[string]string{"action": "unpause"}, "unpause_topic",
			func(t *testing.T, c *fakeCluster) {
				if c.a.topic("orders").paused || c.b.topic("orders").paused {
					t.Error("topic still paused")
				}
			}},
		{"empty topic", "POST", "/api/topics/orders", map[string]string{"action": "empty"}, "empty_topic",
			func(t *testing.T, c *fakeCluster) {
				if c.a.topic("orders").depth != 0 || c.b.topic("orders").depth != 0 || c.a.topic("orders").channels["billing"].depth != 10 {
					t.Error("topic not emptied, or its channels were")
				}
			}},
		{"pause channel", "POST", "/api/topics/orders/billing", map[string]string{"action": "pause"}, "pause_channel",
			func(t *testing.T, c *fakeCluster) {
				if !c.a.topic("orders").channels["billing"].paused || !c.b.topic("orders").channels["billing"].paused {
					t.Error("channel not paused on both nodes")
				}
			}},
		{"unpause channel", "POST", "/api/topics/orders/billing", map[string]string{"action": "unpause"}, "unpause_channel",
			func(t *testing.T, c *fakeCluster) {
				if c.b.topic("orders").channels["billing"].paused {
					t.Error("channel still paused")
				}
			}},
		{"empty channel", "POST", "/api/topics/orders/billing", map[string]string{"action": "empty"}, "empty_channel",
			func(t *testing.T, c *fakeCluster) {
				if ch := c.a.topic("orders").channels["billing"]; ch.depth != 0 || ch.inFlight != 0 {
					t.Error("channel not emptied")
				}
			}},
		{"delete topic", "DELETE", "/api/topics/orders", nil, "delete_topic",
			func(t *testing.T, c *fakeCluster) {
				if c.a.topic("orders") != nil || c.b.topic("orders") != nil {
					t.Error("topic not deleted on both nodes")
				}
				if !slices.Contains(c.lookupd.callLog(), "POST /topic/delete?topic=orders") {
					t.Errorf("lookupd not told: %v", c.lookupd.callLog())
				}
			}},
		{"delete channel", "DELETE", "/api/topics/orders/billing", nil, "delete_channel",
			func(t *testing.T, c *fakeCluster) {
				if c.a.topic("orders").channels["billing"] != nil || c.b.topic("orders").channels["billing"] != nil {
					t.Error("channel not deleted on both nodes")
				}
				if !slices.Contains(c.lookupd.callLog(), "POST /channel/delete?"+q("topic", "orders", "channel", "billing")) {
					t.Errorf("lookupd not told: %v", c.lookupd.callLog())
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			c.b.topic("orders").channels["billing"].paused = true
			sink := newNotifySink(t)
			a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
			r := call(t, tc.method, a.url+tc.path, tc.body)
			if r.status != 200 || string(r.body) != `{"message":""}` {
				t.Fatalf("%d %s", r.status, r.body)
			}
			tc.check(t, c)
			n := waitNotifications(t, sink, 1)[0]
			if n["action"] != tc.notify || n["topic"] != "orders" {
				t.Errorf("notification = %v, want %s", n, tc.notify)
			}
			if strings.Contains(tc.path, "billing") != (n["channel"] == "billing") {
				t.Errorf("notification channel = %v", n["channel"])
			}
		})
	}
}

func TestActionPartialAndTotalFailure(t *testing.T) {
	t.Run("delete channel one node lacks", func(t *testing.T) {
		c := newFakeCluster(t)
		delete(c.b.topic("orders").channels, "billing")
		sink := newNotifySink(t)
		a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
		r := call(t, "DELETE", a.url+"/api/topics/orders/billing", nil)
		if r.status != 200 || !strings.HasPrefix(r.message(), "WARNING: ") || !strings.Contains(r.message(), `CHANNEL_NOT_FOUND`) {
			t.Errorf("got %d %s", r.status, r.body)
		}
		waitNotifications(t, sink, 1)
	})
	// NSQ counts failed admin calls as a warning even when all of them
	// failed: 200 "WARNING: ...", one line per failure
	t.Run("pause with every node down still notifies", func(t *testing.T) {
		c := newFakeCluster(t)
		c.a.set(func(f *fakeNSQD) { f.broken = true })
		c.b.set(func(f *fakeNSQD) { f.broken = true })
		sink := newNotifySink(t)
		a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
		r := call(t, "POST", a.url+"/api/topics/orders", map[string]string{"action": "pause"})
		if r.status != 200 || !strings.HasPrefix(r.message(), "WARNING: ") || strings.Count(r.message(), "\n") != 1 ||
			strings.Count(r.message(), "INTERNAL_ERROR") != 2 {
			t.Errorf("got %d %s", r.status, r.body)
		}
		if n := waitNotifications(t, sink, 1); n[0]["action"] != "pause_topic" {
			t.Errorf("notification = %v", n)
		}
	})
	t.Run("delete with every upstream down does not notify", func(t *testing.T) {
		c := newFakeCluster(t)
		c.lookupd.set(func(l *fakeLookupd) { l.broken = true })
		sink := newNotifySink(t)
		a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
		r := call(t, "DELETE", a.url+"/api/topics/orders", nil)
		if r.status != 502 || !strings.HasPrefix(r.message(), "UPSTREAM_ERROR: failed to query any nsqlookupd: ") {
			t.Errorf("got %d %s", r.status, r.body)
		}
		c.lookupd.set(func(l *fakeLookupd) { l.broken = false })
		call(t, "POST", a.url+"/api/topics/orders", map[string]string{"action": "unpause"})
		if n := waitNotifications(t, sink, 1); n[0]["action"] != "unpause_topic" {
			t.Errorf("notifications = %v", n)
		}
	})
}

func TestActionTombstone(t *testing.T) {
	c := newFakeCluster(t)
	sink := newNotifySink(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
	r := call(t, "DELETE", a.url+"/api/nodes/"+c.b.addr(), map[string]string{"topic": "orders"})
	if r.status != 200 || r.message() != "" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if want := "POST /topic/tombstone?" + q("topic", "orders", "node", c.b.addr()); !slices.Contains(c.lookupd.callLog(), want) {
		t.Errorf("lookupd calls %v lack %s", c.lookupd.callLog(), want)
	}
	if c.b.topic("orders") != nil || c.a.topic("orders") == nil {
		t.Error("topic must be deleted on host-b only")
	}
	calls := c.b.callLog()
	if !slices.Contains(calls, "GET /info") {
		t.Errorf("node not located through /info: %v", calls)
	}
	n := waitNotifications(t, sink, 1)[0]
	if n["action"] != "tombstone_topic_producer" || n["node"] != c.b.addr() || n["topic"] != "orders" {
		t.Errorf("notification = %v", n)
	}
	// the producer list now lacks host-b
	topic := getOK(t, a.url+"/api/topics/orders")
	if nodes := list(topic["nodes"]); len(nodes) != 1 || obj(nodes[0])["node"] != c.a.addr() {
		t.Errorf("nodes after tombstone = %v", nodes)
	}
}

func TestActionACL(t *testing.T) {
	for _, tc := range []struct {
		name, header string
	}{{"default header", "X-Forwarded-User"}, {"custom header", "X-Auth-User"}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			sink := newNotifySink(t)
			a := startAdmin(t, func(o *Options) {
				c.lookupdMode(o)
				o.NotificationHTTPEndpoint = sink.srv.URL
				o.AdminUsers = []string{"alice", "bob"}
				if tc.header != "X-Forwarded-User" {
					o.ACLHTTPHeader = tc.header
				}
			})
			actions := []struct {
				method, path string
				body         any
			}{
				{"POST", "/api/topics", map[string]string{"topic": "z"}},
				{"POST", "/api/topics/orders", map[string]string{"action": "pause"}},
				{"POST", "/api/topics/orders/billing", map[string]string{"action": "pause"}},
				{"DELETE", "/api/topics/orders/billing", nil},
				{"DELETE", "/api/topics/orders", nil},
				{"DELETE", "/api/nodes/" + c.a.addr(), map[string]string{"topic": "orders"}},
			}
			for _, act := range actions {
				for _, hdr := range [][]string{nil, {tc.header, "mallory"}, {"X-Other", "bob"}} {
					r := call(t, act.method, a.url+act.path, act.body, hdr...)
					if r.status != 403 || string(r.body) != `{"message":"FORBIDDEN"}` {
						t.Errorf("%s %s %v: %d %s, want 403 FORBIDDEN", act.method, act.path, hdr, r.status, r.body)
					}
				}
			}
			if p := append(posts(c.a.callLog()), posts(c.lookupd.callLog())...); len(p) != 0 {
				t.Errorf("forbidden requests reached upstreams: %v", p)
			}
			if len(sink.all()) != 0 {
				t.Errorf("forbidden requests notified: %v", sink.all())
			}
			// reads are open to everyone
			if r := call(t, "GET", a.url+"/api/topics/orders", nil); r.status != 200 {
				t.Errorf("read as non-admin: %d", r.status)
			}
			r := call(t, "POST", a.url+"/api/topics/orders", map[string]string{"action": "unpause"}, tc.header, "bob")
			if r.status != 200 {
				t.Errorf("admin bob: %d %s", r.status, r.body)
			}
			waitNotifications(t, sink, 1)
		})
	}
}

func TestNotificationBody(t *testing.T) {
	c := newFakeCluster(t)
	sink := newNotifySink(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
	host := strings.TrimPrefix(a.url, "http://")
	before := time.Now().Unix()
	call(t, "POST", a.url+"/api/topics/orders/billing?x=1", map[string]string{"action": "pause"},
		"Authorization", "Basic Ym9iOnNlY3JldA==", // bob:secret
		"User-Agent", "curl/7.88.1")
	call(t, "POST", a.url+"/api/topics/orders", map[string]string{"action": "unpause"}, "X-Scheme", "https", "User-Agent", "ua")
	got := waitNotifications(t, sink, 2)
	n := got[0]
	wantKeys(t, "notification", n, "action", "topic", "channel", "timestamp", "user", "remote_ip", "user_agent", "url", "via")
	hostname, _ := os.Hostname()
	want := map[string]any{"action": "pause_channel", "topic": "orders", "channel": "billing", "user": "bob",
		"user_agent": "curl/7.88.1", "url": "http://" + host + "/api/topics/orders/billing?x=1", "via": hostname}
	for k, v := range want {
		if n[k] != v {
			t.Errorf("%s = %v, want %v", k, n[k], v)
		}
	}
	if ts := num(n["timestamp"]); ts < before || ts > time.Now().Unix() {
		t.Errorf("timestamp = %d", ts)
	}
	if ip, _ := n["remote_ip"].(string); !strings.HasPrefix(ip, "127.0.0.1:") {
		t.Errorf("remote_ip = %v", n["remote_ip"])
	}
	wantKeys(t, "notification without user", got[1], "action", "topic", "timestamp", "remote_ip", "user_agent", "url", "via")
	if got[1]["url"] != "https://"+host+"/api/topics/orders" {
		t.Errorf("X-Scheme https: url = %v", got[1]["url"])
	}
	sink.mu.Lock()
	ct := sink.headers[0].Get("Content-Type")
	sink.mu.Unlock()
	if ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}
