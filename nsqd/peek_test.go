package nsqd

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

func getPeek(tb testing.TB, n *NSQD, query string) Peek {
	tb.Helper()
	code, body, _ := httpDo(tb, n, "GET", "/channel/peek?"+query, "")
	if code != 200 {
		tb.Fatalf("/channel/peek: %d %s", code, body)
	}
	var p Peek
	jsonInto(tb, body, &p)
	return p
}

// TestPeekChangesNothing peeks a channel with messages in memory and on
// disk, one in flight and one deferred: the waiting ones in memory come
// back in delivery order and every figure of /stats stays the same.
func TestPeekChangesNothing(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 4
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "pk", "c", 0)
	publish(t, n, "pk", "m0", "m1")
	sub.cmd("RDY 1")
	inflight := sub.readMsg()
	sub.cmd("RDY 0")
	publish(t, n, "pk", "m2", "bin\x00\x01", "m4", "m5", "m6", "m7")
	c := dial(t, n)
	c.cmd("DPUB pk 600000", []byte("later"))
	c.expectOK()

	before := channelStatsOf(t, n, "pk", "c")
	if before.InFlightCount != 1 || before.DeferredCount != 1 || before.BackendDepth == 0 {
		t.Fatalf("setup: %+v", before)
	}
	p := getPeek(t, n, "topic=pk&channel=c&n=100")
	if p.Complete || p.Depth != before.Depth || p.BackendDepth != before.BackendDepth ||
		p.MemoryDepth != p.Depth-p.BackendDepth || int64(len(p.Messages)) != p.MemoryDepth ||
		p.InFlightCount != 1 || p.DeferredCount != 1 {
		t.Fatalf("peek %+v, stats %+v", p, before)
	}
	for i, m := range p.Messages {
		want := fmt.Sprintf("m%d", i+1)
		if i == 2 {
			want = "bin\x00\x01"
		}
		if string(m.Body) != want || m.Attempts != 0 || len(m.ID) != 16 || m.ID == inflight.id || m.Timestamp == 0 {
			t.Errorf("message %d: %+v, want body %q", i, m, want)
		}
	}
	if len(p.Messages) > 2 && p.Messages[2].Preview != `bin\x00\x01` {
		t.Errorf("preview %q", p.Messages[2].Preview)
	}
	if p2 := getPeek(t, n, "topic=pk&channel=c&n=2"); len(p2.Messages) != 2 || !p2.Complete || string(p2.Messages[0].Body) != "m1" {
		t.Errorf("n=2: %+v", p2)
	}
	if p3 := getPeek(t, n, "topic=pk&channel=c"); len(p3.Messages) != min(10, int(p.MemoryDepth)) {
		t.Errorf("default n: %d messages", len(p3.Messages))
	}
	after := channelStatsOf(t, n, "pk", "c")
	after.OldestMsgAgeMs, before.OldestMsgAgeMs = 0, 0
	if a, b := jsonText(t, after), jsonText(t, before); a != b {
		t.Errorf("stats changed:\nbefore %+v\nafter  %+v", before, after)
	}
	// and delivery goes on in the order peek showed
	sub.cmd("FIN " + inflight.id)
	sub.cmd("RDY 1")
	if m := sub.readMsg(); m.body != "m1" {
		t.Errorf("next delivered %q, want m1", m.body)
	}
}

func jsonText(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestPreview(t *testing.T) {
	long := make([]byte, previewLength+10)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"héllo ✓", "héllo ✓"},
		{"\x00\xff\n<b>", `\x00\xff\x0a<b>`},
		{string(long), string(long[:previewLength]) + "…"},
	} {
		if got := preview([]byte(tc.in)); got != tc.want {
			t.Errorf("preview(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLagStats: oldest_msg_age_ms grows while a message waits and is 0
// once the channel is empty; fin_latency counts each FIN.
func TestLagStats(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "lag", "c", 0)
	if cs := channelStatsOf(t, n, "lag", "c"); cs.OldestMsgAgeMs != 0 || cs.FinLatency.Count != 0 || cs.FinLatency.Percentiles != nil {
		t.Fatalf("empty channel: %+v", cs)
	}
	publish(t, n, "lag", "x")
	published := time.Now()
	eventually(t, func() bool { return channelStatsOf(t, n, "lag", "c").OldestMsgAgeMs >= 5 }, "age grows")
	if age := channelStatsOf(t, n, "lag", "c").OldestMsgAgeMs; age > time.Since(published).Milliseconds()+1000 {
		t.Errorf("age %dms, published %s ago", age, time.Since(published))
	}
	sub.cmd("RDY 1")
	m := sub.readMsg()
	sub.cmd("FIN " + m.id)
	eventually(t, func() bool { return channelStatsOf(t, n, "lag", "c").FinLatency.Count == 1 }, "FIN counted")
	cs := channelStatsOf(t, n, "lag", "c")
	if cs.OldestMsgAgeMs != 0 || len(cs.FinLatency.Percentiles) != len(defaultLatencyQuantiles) || cs.FinLatency.Percentiles[0].Value <= 0 {
		t.Errorf("after FIN: %+v", cs)
	}
}

// TestMetricsMatchStats parses /metrics with the Prometheus text parser
// and checks each channel's figures against /stats.
func TestMetricsMatchStats(t *testing.T) {
	opts := testOptions(t)
	opts.MaxAttempts = 1
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "mt", "c", 1)
	eph := subscribe(t, n, "mt", "tmp#ephemeral", 0)
	publish(t, n, "mt", "a")
	m := sub.readMsg()
	sub.cmd("REQ " + m.id + " 0") // one dead letter
	eventually(t, func() bool { return channelStatsOf(t, n, "mt", "c").DeadLetterCount == 1 }, "dead letter")
	publish(t, n, "mt", "b", "c")
	m = sub.readMsg()
	sub.cmd("FIN " + m.id)
	eventually(t, func() bool { return channelStatsOf(t, n, "mt", "c").FinLatency.Count == 1 }, "FIN counted")
	sub.cmd("RDY 0")
	_ = eph

	url := "http://" + n.RealHTTPAddr().String() + "/metrics"
	got := testutil.ScrapeMetrics(t, url)
	stats := getStats(t, n, "")
	checked := 0
	for _, ts := range stats.Topics {
		tl := []string{"topic", ts.TopicName}
		for name, want := range map[string]float64{
			"nsqd_topic_depth": float64(ts.Depth), "nsqd_topic_messages_total": float64(ts.MessageCount),
		} {
			if v, ok := got.Value(name, tl...); !ok || v != want {
				t.Errorf("%s%v = %v (present %v), /stats %v", name, tl, v, ok, want)
			}
			checked++
		}
		for _, cs := range ts.Channels {
			cl := []string{"topic", ts.TopicName, "channel", cs.ChannelName}
			for name, want := range map[string]float64{
				"nsqd_channel_depth":              float64(cs.Depth),
				"nsqd_channel_in_flight":          float64(cs.InFlightCount),
				"nsqd_channel_messages_total":     float64(cs.MessageCount),
				"nsqd_channel_requeued_total":     float64(cs.RequeueCount),
				"nsqd_channel_clients":            float64(cs.ClientCount),
				"nsqd_channel_dead_letters_total": float64(cs.DeadLetterCount),
				"nsqd_channel_max_attempts":       float64(cs.MaxAttempts),
				"nsqd_channel_fin_latency_count":  float64(cs.FinLatency.Count),
			} {
				if v, ok := got.Value(name, cl...); !ok || v != want {
					t.Errorf("%s%v = %v (present %v), /stats %v", name, cl, v, ok, want)
				}
				checked++
			}
			for _, p := range cs.FinLatency.Percentiles {
				q := fmt.Sprint(p.Quantile)
				if v, ok := got.Value("nsqd_channel_fin_latency_seconds", append(cl, "quantile", q)...); !ok || v != p.Value/1e9 {
					t.Errorf("fin latency %v q%s = %v, /stats %v", cl, q, v, p.Value/1e9)
				}
			}
			if _, ok := got.Value("nsqd_channel_oldest_message_age_seconds", cl...); !ok {
				t.Errorf("no oldest age for %v", cl)
			}
		}
	}
	if checked < 20 || !got.Has("nsqd_channel_depth", "channel", "tmp#ephemeral") || !got.Has("nsqd_topic_depth", "topic", "mt.dead") {
		t.Errorf("checked %d values; ephemeral channel or dead-letter topic missing", checked)
	}
	if v, _ := got.Value("nsqd_healthy"); v != 1 {
		t.Errorf("nsqd_healthy %v", v)
	}
}

// TestMetricsExcludeEphemeral leaves #ephemeral topics and channels out.
func TestMetricsExcludeEphemeral(t *testing.T) {
	opts := testOptions(t)
	opts.MetricsExcludeEphemeral = true
	n := startNSQD(t, opts)
	subscribe(t, n, "keep", "c", 0)
	subscribe(t, n, "keep", "tmp#ephemeral", 0)
	subscribe(t, n, "gone#ephemeral", "c", 0)
	got := testutil.ScrapeMetrics(t, "http://"+n.RealHTTPAddr().String()+"/metrics")
	if !got.Has("nsqd_channel_depth", "channel", "c") || got.Has("nsqd_channel_depth", "channel", "tmp#ephemeral") ||
		got.Has("nsqd_topic_depth", "topic", "gone#ephemeral") || got.Has("nsqd_channel_depth", "topic", "gone#ephemeral") {
		t.Errorf("ephemeral names not left out: %v", got["nsqd_channel_depth"])
	}
}
