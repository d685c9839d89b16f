package nsqd

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/protocol"
)

// replayPost posts a replay route and returns the status and the
// {"messages": N} count (-1 when the body is something else).
func replayPost(tb testing.TB, n *NSQD, path string) (int, int64, string) {
	tb.Helper()
	code, body, _ := httpDo(tb, n, "POST", path, "")
	var r struct {
		Messages *int64 `json:"messages"`
	}
	if json.Unmarshal([]byte(body), &r) != nil || r.Messages == nil {
		return code, -1, body
	}
	return code, *r.Messages, body
}

// mustReplay posts path and wants 200 with want messages.
func mustReplay(tb testing.TB, n *NSQD, path string, want int64) {
	tb.Helper()
	code, got, body := replayPost(tb, n, path)
	if code != 200 || got != want {
		tb.Fatalf("POST %s = %d %s, want 200 {\"messages\":%d}", path, code, body, want)
	}
}

// readFIN reads want messages in order from c, FINs each, and returns
// their timestamps.
func readFIN(tb testing.TB, c *testConn, want []string) []int64 {
	tb.Helper()
	ts := make([]int64, 0, len(want))
	for i, w := range want {
		m := c.readMsg()
		if m.body != w {
			tb.Fatalf("message %d: got %q, want %q", i, m.body, w)
		}
		ts = append(ts, m.ts)
		c.cmd("FIN " + m.id)
	}
	return ts
}

// settled waits until the channel has nothing queued or in flight and the
// log has its floor at the topic's tail (every FIN applied).
func settled(tb testing.TB, n *NSQD, topic, channel string) {
	tb.Helper()
	eventually(tb, func() bool {
		ci, ok := n.lm.eng.State().Channel(topic, channel)
		cs := channelStatsOf(tb, n, topic, channel)
		return ok && cs != nil && ci.Floor == ci.NextSeq && cs.InFlightCount == 0 && cs.Depth == 0
	}, "%s/%s: everything finished", topic, channel)
}

// afterMs waits until the wall clock's unix ms passes ms and returns it.
func afterMs(tb testing.TB, ms int64) int64 {
	tb.Helper()
	var now int64
	eventually(tb, func() bool { now = time.Now().UnixMilli(); return now > ms }, "clock passes %d", ms)
	return now
}

// TestReplayRewind: consume and FIN everything, rewind to earliest (all
// again, in order), then to a time in the middle (only what came after);
// dry runs count the same and change nothing.
func TestReplayRewind(t *testing.T) {
	n := startNSQD(t, logOptions(t, false))
	sub := subscribe(t, n, "r", "c", 100)
	first, second := bodies("a", 20), bodies("b", 15)
	publish(t, n, "r", first...)
	tsA := readFIN(t, sub, first)
	mid := afterMs(t, tsA[len(tsA)-1]/int64(time.Millisecond))
	afterMs(t, mid) // every later message is stamped >= mid
	publish(t, n, "r", second...)
	readFIN(t, sub, second)
	settled(t, n, "r", "c")

	all := append(append([]string{}, first...), second...)
	mustReplay(t, n, "/channel/rewind?topic=r&channel=c&to=earliest&dry_run=true", int64(len(all)))
	if ci, _ := n.lm.eng.State().Channel("r", "c"); ci.Floor != ci.NextSeq || ci.Depth() != 0 {
		t.Fatalf("dry run changed the cursor: %+v", ci)
	}
	if cs := channelStatsOf(t, n, "r", "c"); cs.Depth != 0 || cs.InFlightCount != 0 {
		t.Fatalf("dry run changed the channel: %+v", cs)
	}
	mustReplay(t, n, "/channel/rewind?topic=r&channel=c&to=earliest", int64(len(all)))
	readFIN(t, sub, all)
	settled(t, n, "r", "c")

	q := fmt.Sprintf("/channel/rewind?topic=r&channel=c&to=%d", mid)
	mustReplay(t, n, q+"&dry_run=true", int64(len(second)))
	mustReplay(t, n, q, int64(len(second)))
	readFIN(t, sub, second)
	settled(t, n, "r", "c")

	// a time after everything: nothing to deliver again
	mustReplay(t, n, fmt.Sprintf("/channel/rewind?topic=r&channel=c&to=%d", time.Now().UnixMilli()+3_600_000), 0)
}

// TestReplayRewindInFlight: messages in flight at the rewind are not lost:
// the old deliveries are forgotten (FIN fails as after an empty) and every
// message comes again from the start, in order.
func TestReplayRewindInFlight(t *testing.T) {
	n := startNSQD(t, logOptions(t, false))
	httpDo(t, n, "POST", "/topic/create?topic=f", "")
	httpDo(t, n, "POST", "/channel/create?topic=f&channel=c", "")
	all := bodies("m", 12)
	publish(t, n, "f", all...)
	sub := subscribe(t, n, "f", "c", 5)
	var old []testMsg
	for i := 0; i < 5; i++ {
		old = append(old, sub.readMsg())
	}
	sub.cmd("RDY 0") // so the FIN's error below is the next frame
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "f", "c")
		return cs.InFlightCount == 5 && cs.Clients[0].ReadyCount == 0
	}, "5 in flight, RDY 0")
	mustReplay(t, n, "/channel/rewind?topic=f&channel=c&to=earliest", int64(len(all)))
	sub.cmd("FIN " + old[0].id) // a delivery from before the rewind
	f := sub.readFrame()
	if f.typ != protocol.FrameTypeError || !strings.HasPrefix(string(f.data), "E_FIN_FAILED") {
		t.Fatalf("FIN of a pre-rewind delivery: %s", f)
	}
	sub.cmd("RDY 100")
	readFIN(t, sub, all)
	settled(t, n, "f", "c")
}

// TestReplayCreateAt: channels created at earliest, latest and a time get
// exactly what the reply counted; a dry run creates nothing; an existing
// channel is refused.
func TestReplayCreateAt(t *testing.T) {
	n := startNSQD(t, logOptions(t, false))
	httpDo(t, n, "POST", "/topic/create?topic=t", "")
	httpDo(t, n, "POST", "/channel/create?topic=t&channel=keep", "") // holds everything
	probe := subscribe(t, n, "t", "probe", 100)
	first, second := bodies("a", 8), bodies("b", 6)
	publish(t, n, "t", first...)
	code, _, body := replayPost(t, n, "/channel/create?topic=t&channel=keep&start=earliest")
	if code != 400 || body != `{"message":"CHANNEL_EXISTS"}` {
		t.Fatalf("create at on an existing channel: %d %s", code, body)
	}
	// the first batch's newest timestamp, read through a channel
	ts := readFIN(t, probe, first)
	mid := afterMs(t, ts[len(ts)-1]/int64(time.Millisecond))
	afterMs(t, mid)
	publish(t, n, "t", second...)

	mustReplay(t, n, "/channel/create?topic=t&channel=e&start=earliest&dry_run=true", 14)
	if _, ok := n.lm.eng.State().Channel("t", "e"); ok || channelStatsOf(t, n, "t", "e") != nil {
		t.Fatal("a dry run created the channel")
	}
	mustReplay(t, n, "/channel/create?topic=t&channel=e&start=earliest", 14)
	mustReplay(t, n, fmt.Sprintf("/channel/create?topic=t&channel=m&start=%d&dry_run=1", mid), 6)
	mustReplay(t, n, fmt.Sprintf("/channel/create?topic=t&channel=m&start=%d", mid), 6)
	mustReplay(t, n, "/channel/create?topic=t&channel=l&start=latest", 0)
	publish(t, n, "t", "tail")

	all := append(append(append([]string{}, first...), second...), "tail")
	readFIN(t, subscribe(t, n, "t", "e", 100), all)
	readFIN(t, subscribe(t, n, "t", "m", 100), all[len(first):])
	readFIN(t, subscribe(t, n, "t", "l", 100), []string{"tail"})
	for _, ch := range []string{"e", "m", "l"} {
		settled(t, n, "t", ch)
	}
}

// TestReplayErrors: bad input is 400, unknown names 404, and nothing
// changes on an error.
func TestReplayErrors(t *testing.T) {
	n := startNSQD(t, logOptions(t, false))
	httpDo(t, n, "POST", "/topic/create?topic=t", "")
	httpDo(t, n, "POST", "/channel/create?topic=t&channel=c", "")
	httpDo(t, n, "POST", "/topic/create?topic=x%23ephemeral", "")
	publish(t, n, "t", "one")
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/channel/rewind?topic=t&channel=c&to=yesterday", 400, "INVALID_TO"},
		{"/channel/rewind?topic=t&channel=c&to=latest", 400, "INVALID_TO"},
		{"/channel/rewind?topic=t&channel=c&to=-5", 400, "INVALID_TO"},
		{"/channel/rewind?topic=t&channel=c&to=0012", 400, "INVALID_TO"},
		{"/channel/rewind?topic=t&channel=c&to=99999999999999999999", 400, "INVALID_TO"},
		{"/channel/rewind?topic=t&channel=c", 400, "INVALID_TO"},
		{"/channel/rewind?topic=t&channel=c&to=earliest&dry_run=maybe", 400, "INVALID_DRY_RUN"},
		{"/channel/rewind?topic=t&to=earliest", 400, "MISSING_ARG_CHANNEL"},
		{"/channel/rewind?channel=c&to=earliest", 400, "MISSING_ARG_TOPIC"},
		{"/channel/rewind?topic=t&channel=b%20ad&to=earliest", 400, "INVALID_ARG_CHANNEL"},
		{"/channel/rewind?topic=nope&channel=c&to=earliest", 404, "TOPIC_NOT_FOUND"},
		{"/channel/rewind?topic=t&channel=nope&to=earliest", 404, "CHANNEL_NOT_FOUND"},
		{"/channel/rewind?topic=x%23ephemeral&channel=c&to=earliest", 400, "REPLAY_REQUIRES_LOG_STORAGE"},
		{"/channel/create?topic=t&channel=d&start=soon", 400, "INVALID_START"},
		{"/channel/create?topic=t&channel=d&start=", 400, "INVALID_START"},
		{"/channel/create?topic=nope&channel=d&start=earliest", 404, "TOPIC_NOT_FOUND"},
		{"/channel/create?topic=t&channel=c&start=latest", 400, "CHANNEL_EXISTS"},
		{"/channel/create?topic=x%23ephemeral&channel=d&start=earliest", 400, "REPLAY_REQUIRES_LOG_STORAGE"},
	} {
		code, _, body := replayPost(t, n, tc.path)
		if want := `{"message":"` + tc.msg + `"}`; code != tc.code || body != want {
			t.Errorf("POST %s = %d %s, want %d %s", tc.path, code, body, tc.code, want)
		}
	}
	if _, err := n.GetExistingTopic("nope"); err == nil {
		t.Error("an error created topic nope")
	}
	if ti, _ := n.lm.eng.State().Topic("t"); len(ti.Channels) != 1 {
		t.Errorf("an error created channels: %v", ti.Channels)
	}
	if code, _, _ := httpDo(t, n, "GET", "/channel/rewind?topic=t&channel=c&to=earliest", ""); code != 405 {
		t.Errorf("GET /channel/rewind = %d, want 405", code)
	}
}

// TestReplayDiskQueueMode: replay is refused clearly, --log-retention too,
// and /channel/create without start is NSQ's.
func TestReplayDiskQueueMode(t *testing.T) {
	opts := testOptions(t)
	opts.LogRetention = LogRetention{For: time.Hour}
	if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "--log-retention") {
		t.Fatalf("--log-retention in diskqueue mode: %v", err)
	}
	opts.LogRetention = LogRetention{}
	n := startNSQD(t, opts)
	httpDo(t, n, "POST", "/topic/create?topic=t", "")
	if code, body, _ := httpDo(t, n, "POST", "/channel/create?topic=t&channel=c", ""); code != 200 || body != "" {
		t.Fatalf("plain create: %d %q", code, body)
	}
	for _, p := range []string{
		"/channel/create?topic=t&channel=d&start=earliest",
		"/channel/create?topic=t&channel=d&start=earliest&dry_run=true",
		"/channel/rewind?topic=t&channel=c&to=earliest",
		"/channel/rewind?topic=t&channel=c&to=123&dry_run=true",
	} {
		code, _, body := replayPost(t, n, p)
		if code != 400 || body != `{"message":"REPLAY_REQUIRES_LOG_STORAGE"}` {
			t.Errorf("POST %s = %d %s", p, code, body)
		}
	}
	if channelStatsOf(t, n, "t", "d") != nil {
		t.Error("a refused create made channel d")
	}
	code, body, _ := httpDo(t, n, "GET", "/stats?format=json&topic=t", "")
	if code != 200 || !strings.Contains(body, `"storage":"diskqueue"`) || strings.Contains(body, "retained_from_ms") {
		t.Fatalf("diskqueue /stats: %d %s", code, body)
	}
}

// TestReplayRetentionBySize: with --log-retention as a size, finished
// segments beyond it go, "earliest" moves up, /stats says from when, and a
// rewind to earliest delivers exactly what is retained, from there on.
func TestReplayRetentionBySize(t *testing.T) {
	opts := logOptions(t, true) // one commit round per MPUB: small segments
	opts.LogSegmentBytes = 2048
	opts.LogRetention = LogRetention{Bytes: 8192}
	n := startNSQD(t, opts)
	if code, body, _ := httpDo(t, n, "GET", "/config/log_retention", ""); code != 200 || body != `"8KiB"` {
		t.Fatalf("GET /config/log_retention = %d %s", code, body)
	}
	sub := subscribe(t, n, "big", "c", 100)
	all := make([]string, 300)
	pad := strings.Repeat("x", 100)
	for i := range all {
		all[i] = fmt.Sprintf("%03d-%s", i, pad)
	}
	c := dial(t, n)
	for i := 0; i < len(all); i += 10 { // MPUB in batches: a few entries per segment
		c.cmd("MPUB big", mpubBody(all[i:i+10]...))
		c.expectOK()
	}
	tsAll := readFIN(t, sub, all)
	settled(t, n, "big", "c")
	n.lm.checkpoint()

	var total int64
	for _, sg := range n.lm.eng.Log().Segments() {
		total += sg.Bytes
	}
	ti, _ := n.lm.eng.State().Topic("big")
	if ti.FirstSeq <= 1 || total > 8192+4096 {
		t.Fatalf("retention by size kept %d bytes from seq %d", total, ti.FirstSeq)
	}
	retained := int64(ti.NextSeq - ti.FirstSeq)
	if retained <= 0 {
		t.Fatalf("nothing retained: %+v %+v", ti, n.lm.eng.Log().Segments())
	}
	var ts *TopicStats
	for _, x := range getStats(t, n, "&topic=big").Topics {
		ts = x
	}
	if ts.Storage != "log" || ts.RetainedFromMs == nil || *ts.RetainedFromMs != tsAll[ti.FirstSeq-1]/int64(time.Millisecond) {
		t.Fatalf("stats storage %q retained_from_ms %v, want %d", ts.Storage, ts.RetainedFromMs, tsAll[ti.FirstSeq-1]/int64(time.Millisecond))
	}
	mustReplay(t, n, "/channel/rewind?topic=big&channel=c&to=earliest&dry_run=true", retained)
	mustReplay(t, n, "/channel/rewind?topic=big&channel=c&to=0", retained) // before everything: earliest
	readFIN(t, sub, all[ti.FirstSeq-1:])
	settled(t, n, "big", "c")
}

// TestReplayRestart: a rewound channel keeps its position over a clean
// restart: everything comes again after it.
func TestReplayRestart(t *testing.T) {
	opts := logOptions(t, false)
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	sub := subscribe(t, n, "p", "c", 100)
	all := bodies("m", 25)
	publish(t, n, "p", all...)
	readFIN(t, sub, all)
	settled(t, n, "p", "c")
	sub.cmd("RDY 0")
	eventually(t, func() bool { return channelStatsOf(t, n, "p", "c").Clients[0].ReadyCount == 0 }, "RDY 0")
	mustReplay(t, n, "/channel/rewind?topic=p&channel=c&to=earliest", int64(len(all)))
	mustReplay(t, n, "/channel/create?topic=p&channel=late&start="+url.QueryEscape("earliest"), int64(len(all)))
	n.Exit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	n2 := startNSQD(t, opts)
	for _, ch := range []string{"c", "late"} {
		readFIN(t, subscribe(t, n2, "p", ch, 100), all)
		settled(t, n2, "p", ch)
	}
}
