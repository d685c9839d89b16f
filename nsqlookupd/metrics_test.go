package nsqlookupd

import (
	"net/http"
	"testing"

	"github.com/dropin/nsq/internal/testutil"
)

func scrape(tb testing.TB, n *NSQLookupd) testutil.Metrics {
	tb.Helper()
	return testutil.ScrapeMetrics(tb, "http://"+n.RealHTTPAddr().String()+"/metrics")
}

// TestMetricsMatchAPI parses /metrics with the Prometheus text parser and
// checks the registration figures against /nodes, /lookup and /channels,
// and the request and command counters against what the test sent.
func TestMetricsMatchAPI(t *testing.T) {
	n := mustStart(t)
	a := identified(t, n, "a", 1, 11)
	b := identified(t, n, "b", 2, 12)
	a.mustOK("REGISTER t c1")
	a.mustOK("REGISTER t c2")
	b.mustOK("REGISTER t")
	b.mustOK("REGISTER u tmp#ephemeral")
	mustPost(t, n, "/topic/tombstone?topic=t&node=b:12")
	request(t, n, http.MethodGet, "/nope")

	m := scrape(t, n)
	res, _ := lookup(t, n, "t")
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"nsqlookupd_producers", nil, float64(len(nodesOf(t, n)))},
		{"nsqlookupd_topic_producers", []string{"topic", "t"}, float64(len(res.Producers))},
		{"nsqlookupd_topic_channels", []string{"topic", "t"}, float64(len(res.Channels))},
		{"nsqlookupd_topic_channels", []string{"topic", "u"}, 1},
		{"nsqlookupd_tombstones", []string{"topic", "t"}, 1},
		{"nsqlookupd_tombstones", []string{"topic", "u"}, 0},
		{"nsqlookupd_registrations", []string{"category", "client"}, 1},
		{"nsqlookupd_registrations", []string{"category", "topic"}, 2},
		{"nsqlookupd_registrations", []string{"category", "channel"}, 3},
		{"nsqlookupd_tcp_connections", nil, 2},
		{"nsqlookupd_tcp_commands_total", []string{"command", "IDENTIFY", "result", "ok"}, 2},
		{"nsqlookupd_tcp_commands_total", []string{"command", "REGISTER", "result", "ok"}, 4},
		{"nsqlookupd_tcp_command_duration_seconds", []string{"command", "REGISTER"}, 4},
		{"nsqlookupd_http_requests_total", []string{"route", "/topic/tombstone", "method", "POST", "code", "200"}, 1},
		{"nsqlookupd_http_requests_total", []string{"route", "other", "code", "404"}, 1},
		{"nsqlookupd_http_request_duration_seconds", []string{"route", "/topic/tombstone"}, 1},
	} {
		got, ok := m.Value(tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if res.Producers == nil || len(res.Producers) != 1 {
		t.Errorf("lookup t: %+v", res)
	}
	// the /lookup just made is counted in the next scrape
	if v, _ := scrape(t, n).Value("nsqlookupd_http_requests_total", "route", "/lookup", "code", "200"); v != 1 {
		t.Errorf("/lookup requests %v", v)
	}
	a.try("BOGUS")
	eventually(t, func() bool {
		v, _ := scrape(t, n).Value("nsqlookupd_tcp_commands_total", "command", "other", "result", "error")
		return v == 1
	}, "failed command counted")
}

// TestMetricsExcludeEphemeral leaves #ephemeral topics out of the
// per-topic series and #ephemeral channels out of the channel counts.
func TestMetricsExcludeEphemeral(t *testing.T) {
	n := mustStart(t, func(o *Options) { o.MetricsExcludeEphemeral = true })
	p := identified(t, n, "a", 1, 11)
	p.mustOK("REGISTER keep c")
	p.mustOK("REGISTER keep tmp#ephemeral")
	p.mustOK("REGISTER gone#ephemeral c")
	m := scrape(t, n)
	if v, _ := m.Value("nsqlookupd_topic_channels", "topic", "keep"); v != 1 {
		t.Errorf("keep channels %v, want 1 (ephemeral left out)", v)
	}
	if m.Has("nsqlookupd_topic_producers", "topic", "gone#ephemeral") {
		t.Errorf("ephemeral topic present")
	}
}
