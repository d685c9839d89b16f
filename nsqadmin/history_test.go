package nsqadmin

import (
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// nodeTopic builds one node's topic as cluster.nodeStats returns it.
func nodeTopic(node, topic string, depth, msgs int64, chans ...*ChannelStats) *TopicStats {
	return &TopicStats{Node: node, TopicName: topic, Depth: depth, MessageCount: msgs, Channels: chans}
}

func nodeChannel(name string, depth, inFlight, msgs, requeues int64, clients int) *ChannelStats {
	return &ChannelStats{ChannelName: name, Depth: depth, InFlightCount: inFlight, MessageCount: msgs,
		RequeueCount: requeues, ClientCount: clients}
}

func rateOf(tb testing.TB, p HistoryPoint) float64 {
	tb.Helper()
	if p.Rate == nil {
		tb.Fatalf("rate unknown at %d", p.Timestamp)
	}
	return *p.Rate
}

func TestHistoryRates(t *testing.T) {
	h := newHistory(10*time.Second, time.Hour)
	t0 := time.Unix(1700000000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 10 * time.Second) }

	h.record(at(0), []string{"n1"}, []*TopicStats{nodeTopic("n1", "t", 5, 1000, nodeChannel("c", 7, 2, 900, 10, 1))})
	h.record(at(1), []string{"n1"}, []*TopicStats{nodeTopic("n1", "t", 6, 1100, nodeChannel("c", 9, 3, 1000, 30, 1))})
	// n2 appears with big counters: unknown history, contributes nothing yet
	h.record(at(2), []string{"n1", "n2"}, []*TopicStats{
		nodeTopic("n1", "t", 6, 1300, nodeChannel("c", 9, 3, 1200, 30, 1)),
		nodeTopic("n2", "t", 1, 5000, nodeChannel("c", 1, 0, 5000, 0, 2)),
	})
	// n1 restarted (counters reset); n2 grows by 100; a new topic u on n2
	h.record(at(3), []string{"n1", "n2"}, []*TopicStats{
		nodeTopic("n1", "t", 0, 50, nodeChannel("c", 0, 0, 50, 0, 1)),
		nodeTopic("n2", "t", 1, 5100, nodeChannel("c", 1, 0, 5100, 0, 2)),
		nodeTopic("n2", "u", 0, 20),
	})

	pts := h.points(seriesKey{"t", ""}, 0)
	if len(pts) != 4 {
		t.Fatalf("topic points = %d", len(pts))
	}
	if pts[0].Rate != nil {
		t.Errorf("first sample rate = %v, want null", *pts[0].Rate)
	}
	for i, want := range []float64{10, 20, 15} {
		if got := rateOf(t, pts[i+1]); got != want {
			t.Errorf("topic rate %d = %v, want %v", i+1, got, want)
		}
	}
	if pts[1].Depth != 6+9 || pts[1].TopicDepth != 6 || pts[1].InFlight != 3 || pts[1].Clients != 1 {
		t.Errorf("topic point = %+v", pts[1])
	}
	ch := h.points(seriesKey{"t", "c"}, 0)
	if got := rateOf(t, ch[1]); got != 10 {
		t.Errorf("channel rate = %v", got)
	}
	if got := *ch[1].RequeueRate; got != 2 {
		t.Errorf("requeue rate = %v", got)
	}
	if ch[2].Depth != 10 || ch[2].Clients != 3 {
		t.Errorf("channel summed over nodes = %+v", ch[2])
	}
	cluster := h.points(seriesKey{}, 0)
	if got := rateOf(t, cluster[3]); got != (50+100+20)/10.0 {
		t.Errorf("cluster rate = %v", got)
	}
	if u := h.points(seriesKey{"u", ""}, 0); len(u) != 1 || rateOf(t, u[0]) != 2 {
		t.Errorf("new topic on a known node: %+v", u)
	}
	if since := h.points(seriesKey{}, at(2).UnixMilli()); len(since) != 1 || since[0].Timestamp != at(3).UnixMilli() {
		t.Errorf("since filter = %+v", since)
	}
	if p := h.points(seriesKey{"nope", ""}, 0); p == nil || len(p) != 0 {
		t.Errorf("unknown series = %#v, want empty list", p)
	}
}

func TestHistoryGapsAndAging(t *testing.T) {
	h := newHistory(time.Second, 4*time.Second) // 4 slots
	t0 := time.Unix(1700000000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	h.record(at(0), []string{"n"}, []*TopicStats{nodeTopic("n", "old", 0, 0), nodeTopic("n", "t", 0, 0)})
	h.recordGap(at(1))
	h.record(at(2), []string{"n"}, []*TopicStats{nodeTopic("n", "t", 0, 40)})
	pts := h.points(seriesKey{"t", ""}, 0)
	if len(pts) != 2 || rateOf(t, pts[1]) != 20 {
		t.Fatalf("rate across a gap: %+v", pts)
	}
	if cl := h.points(seriesKey{}, 0); len(cl) != 2 {
		t.Errorf("cluster points with a gap = %d, want 2", len(cl))
	}
	for i := 3; i < 10; i++ {
		h.record(at(i), []string{"n"}, []*TopicStats{nodeTopic("n", "t", 0, 40)})
	}
	if n := len(h.points(seriesKey{"t", ""}, 0)); n != 4 {
		t.Errorf("ring holds %d points, want 4", n)
	}
	h.mu.RLock()
	_, kept := h.series[seriesKey{"old", ""}]
	h.mu.RUnlock()
	if kept {
		t.Error("a series absent for the whole ring must be forgotten")
	}
	if h.samples() != 4 {
		t.Errorf("samples = %d", h.samples())
	}
}

func TestHistoryGrowing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		depths []int64
		want   bool
	}{
		{"rising", []int64{1, 5, 9, 20}, true},
		{"rising with a dip", []int64{10, 20, 15, 30, 40, 50}, true},
		{"too few samples", []int64{1, 5}, false},
		{"flat", []int64{7, 7, 7, 7}, false},
		{"falling", []int64{40, 30, 20, 10}, false},
		{"drained", []int64{1, 5, 9, 0}, false},
		{"old rise, now flat", []int64{1, 2, 3, 4, 9, 9, 9, 9, 9, 9}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHistory(time.Second, time.Minute)
			for i, d := range tc.depths {
				h.record(time.Unix(1700000000+int64(i), 0), []string{"n"},
					[]*TopicStats{nodeTopic("n", "t", 0, 0, nodeChannel("c", d, 0, 0, 0, 0))})
			}
			if got := h.trend(seriesKey{"t", "c"}).Growing; got != tc.want {
				t.Errorf("growing = %v, want %v", got, tc.want)
			}
			if got := h.channelTrends("t")["c"].Growing; got != tc.want {
				t.Errorf("channelTrends growing = %v", got)
			}
		})
	}
}

func TestAPIHistory(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, func(o *Options) {
		c.lookupdMode(o)
		o.HistoryInterval = 20 * time.Millisecond
		o.HistoryDuration = 10 * time.Second
	})

	for _, tc := range []struct{ query, msg string }{
		{"topic=bad%20name", "INVALID_ARG_TOPIC"},
		{"channel=c", "MISSING_ARG_TOPIC"},
		{"topic=t&channel=b/c", "INVALID_ARG_CHANNEL"},
		{"since=soon", "INVALID_ARG_SINCE"},
		{"since=%zz", "INVALID_REQUEST"},
	} {
		if r := call(t, "GET", a.url+"/api/history?"+tc.query, nil); r.status != 400 || r.message() != tc.msg {
			t.Errorf("%s: %d %s, want 400 %s", tc.query, r.status, r.body, tc.msg)
		}
	}

	// messages flow into orders/billing on host-a while nsqadmin samples
	var r map[string]any
	testutil.Eventually(t, 10*time.Second, func() bool {
		c.a.set(func(f *fakeNSQD) {
			f.topics["orders"].msgs += 10
			ch := f.topics["orders"].channels["billing"]
			ch.msgs += 10
			ch.depth += 10
		})
		r = getOK(t, a.url+"/api/history?topic=orders&channel=billing")
		pts := list(r["points"])
		if len(pts) < 3 {
			return false
		}
		rate, _ := obj(pts[len(pts)-1])["rate"].(float64)
		return rate > 0 && obj(r["trend"])["growing"] == true
	}, "channel history with rates and a growing depth")
	wantKeys(t, "history", r, "topic", "channel", "interval_ms", "duration_ms", "points", "trend", "message")
	if r["topic"] != "orders" || r["channel"] != "billing" || num(r["interval_ms"]) != 20 || num(r["duration_ms"]) != 10000 {
		t.Errorf("history = %v", r)
	}
	p := obj(list(r["points"])[len(list(r["points"]))-1])
	wantKeys(t, "point", p, "ts", "depth", "topic_depth", "in_flight", "deferred", "clients", "oldest_msg_age_ms", "rate", "requeue_rate", "timeout_rate")
	if num(p["clients"]) != 3 || num(p["in_flight"]) != 2 {
		t.Errorf("point = %v", p)
	}

	// "growing" looks at the last few samples only: keep the depth rising
	// while asking, so that a slow machine does not see it level off
	grow := func() {
		c.a.set(func(f *fakeNSQD) {
			f.topics["orders"].msgs += 10
			ch := f.topics["orders"].channels["billing"]
			ch.msgs += 10
			ch.depth += 10
		})
	}
	var topic map[string]any
	if err := testutil.Poll(10*time.Second, func() bool {
		grow()
		topic = getOK(t, a.url+"/api/history?topic=orders")
		chans := obj(topic["channels"])
		return len(chans) == 2 && obj(chans["billing"])["growing"] == true
	}); err != nil {
		t.Errorf("topic history channels = %v", topic["channels"])
	}
	cluster := getOK(t, a.url+"/api/history")
	if len(list(cluster["points"])) == 0 || cluster["topic"] != "" {
		t.Errorf("cluster history = %v", cluster)
	}
	var orders map[string]any
	if err := testutil.Poll(10*time.Second, func() bool {
		grow()
		for _, x := range list(getOK(t, a.url+"/api/overview")["topics"]) {
			if o := obj(x); o["topic_name"] == "orders" {
				orders = o
			}
		}
		return orders["growing"] == true && orders["rate"] != nil
	}); err != nil {
		t.Errorf("overview orders = %v", orders)
	}

	// every node down: samples become gaps, the API still answers
	c.a.set(func(f *fakeNSQD) { f.broken = true })
	c.b.set(func(f *fakeNSQD) { f.broken = true })
	before := len(list(getOK(t, a.url+"/api/history")["points"]))
	a.history.mu.RLock()
	taken := a.history.taken
	a.history.mu.RUnlock()
	testutil.Eventually(t, 10*time.Second, func() bool {
		a.history.mu.RLock()
		defer a.history.mu.RUnlock()
		return a.history.taken > taken+2
	}, "samples while nodes are down")
	if after := list(getOK(t, a.url+"/api/history")["points"]); len(after) > before+1 {
		t.Errorf("points grew from %d to %d while every node was down", before, len(after))
	}
	if !strings.HasPrefix(call(t, "GET", a.url+"/api/topics/orders", nil).message(), "UPSTREAM_ERROR") {
		t.Error("topic page should fail while nodes are down")
	}
}
