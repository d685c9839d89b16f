package nsqadmin

import (
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// TestOpsAPI drives the channel operations through nsqadmin against a
// live nsqd: bad input is refused before any node is asked, the setting
// reaches the node, peek and the dead-letter list come back per node.
func TestOpsAPI(t *testing.T) {
	c := startLiveCluster(t, 1)
	c.createChannel(t, 0, "jobs", "work")
	c.publish(t, 0, "jobs", 2)
	c.waitProducers(t, "jobs", 1)
	a := startAdmin(t, c.lookupdMode)
	ch := a.url + "/api/topics/jobs/work"
	for _, tc := range []struct {
		method, path string
		body         any
		code         int
		msg          string
	}{
		{"POST", "/config", `{"dead_letter_topic":"jobs"}`, 400, "DEAD_LETTER_TOPIC_LOOP"},
		{"POST", "/config", `{"dead_letter_topic":"a b"}`, 400, "INVALID_DEAD_LETTER_TOPIC"},
		{"POST", "/config", `{"max_attempts":70000}`, 400, "INVALID_MAX_ATTEMPTS"},
		{"POST", "/config", `{"bogus":1}`, 400, "INVALID_BODY"},
		{"GET", "/peek?n=0", nil, 400, "INVALID_ARG_N"},
		{"GET", "/peek?n=101", nil, 400, "INVALID_ARG_N"},
		{"POST", "/dead/replay", `{}`, 400, "MISSING_ARG_IDS"},
		{"POST", "/dead/replay", `{"all":true,"to":"x"}`, 400, "INVALID_ARG_TO"},
	} {
		r := call(t, tc.method, ch+tc.path, tc.body)
		if r.status != tc.code || r.message() != tc.msg {
			t.Errorf("%s %s %v: %d %s, want %d %s", tc.method, tc.path, tc.body, r.status, r.body, tc.code, tc.msg)
		}
	}
	if r := call(t, "GET", a.url+"/api/topics/jobs/nope/peek", nil); r.status != 404 || r.message() != "CHANNEL_NOT_FOUND" {
		t.Errorf("unknown channel: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", a.url+"/api/topics/nope/work/config", nil); r.status != 404 || r.message() != "TOPIC_NOT_FOUND" {
		t.Errorf("unknown topic: %d %s", r.status, r.body)
	}

	r := call(t, "POST", ch+"/config", `{"max_attempts":3}`)
	nodes := list(r.json["nodes"])
	if r.status != 200 || len(nodes) != 1 || num(obj(nodes[0])["max_attempts"]) != 3 || obj(nodes[0])["node"] != c.node(0) {
		t.Fatalf("config: %d %s", r.status, r.body)
	}
	peek := getOK(t, ch+"/peek?n=1")
	pn := obj(list(peek["nodes"])[0])
	if msgs := list(pn["messages"]); len(msgs) != 1 || obj(msgs[0])["preview"] != "message 0" || num(pn["depth"]) != 2 {
		t.Errorf("peek: %v", peek)
	}
	if d := getOK(t, ch+"/dead"); len(list(obj(list(d["nodes"])[0])["dead_letters"])) != 0 {
		t.Errorf("dead: %v", d)
	}
	lag := getOK(t, a.url+"/api/lag/jobs")
	chans := list(lag["channels"])
	if len(chans) != 1 || obj(chans[0])["channel_name"] != "work" || num(obj(chans[0])["max_attempts"]) != 3 || obj(chans[0])["oldest_msg_age_ms"] == nil {
		t.Errorf("lag: %v", lag)
	}
}

// TestMetricsEndpoint parses nsqadmin's /metrics and checks the upstream
// and history figures against what happened.
func TestMetricsEndpoint(t *testing.T) {
	c := startLiveCluster(t, 1)
	c.createChannel(t, 0, "jobs", "work")
	c.waitProducers(t, "jobs", 1)
	a := startAdmin(t, func(o *Options) {
		c.nsqdMode(o) // the node stays configured after it stops
		o.HistoryInterval = 50 * time.Millisecond
		o.HistoryDuration = 10 * time.Second
	})
	getOK(t, a.url+"/api/topics/jobs")
	call(t, "GET", a.url+"/api/topics/jobs/nope", nil)
	// one scrape gathers its collectors concurrently while the sampler
	// records a point and then counts it, so within a scrape the two may
	// differ by the one sample in flight
	var m testutil.Metrics
	var points, samples float64
	testutil.Eventually(t, 10*time.Second, func() bool {
		m = testutil.ScrapeMetrics(t, a.url+"/metrics")
		points, _ = m.Value("nsqadmin_history_points")
		samples, _ = m.Value("nsqadmin_history_samples_total", "result", "ok")
		return points >= 2 && samples >= 2
	}, "history samples recorded and counted")
	if points > samples+1 || samples > points+1 {
		t.Errorf("history points %v, samples %v", points, samples)
	}
	hist := getOK(t, a.url+"/api/history")
	after, _ := testutil.ScrapeMetrics(t, a.url+"/metrics").Value("nsqadmin_history_points")
	if n := float64(len(list(hist["points"]))); n < points || n > after {
		t.Errorf("/api/history has %v points, metrics %v before and %v after", n, points, after)
	}
	for _, tc := range []struct {
		name   string
		labels []string
	}{
		{"nsqadmin_http_requests_total", []string{"route", "/api/topics/:topic", "code", "200"}},
		{"nsqadmin_http_requests_total", []string{"route", "/api/topics/:topic/:channel", "code", "404"}},
		{"nsqadmin_http_request_duration_seconds", []string{"route", "/api/topics/:topic"}},
		{"nsqadmin_upstream_requests_total", []string{"upstream", c.node(0), "path", "/info", "code", "200"}},
		{"nsqadmin_upstream_requests_total", []string{"upstream", c.node(0), "path", "/stats", "code", "200"}},
		{"nsqadmin_upstream_request_duration_seconds", []string{"path", "/stats"}},
	} {
		if v, ok := m.Value(tc.name, tc.labels...); !ok || v < 1 {
			t.Errorf("%s%v = %v (present %v)", tc.name, tc.labels, v, ok)
		}
	}
	if _, ok := m.Value("nsqadmin_upstream_errors_total"); ok {
		t.Errorf("upstream errors counted with every upstream up")
	}
	// a node that stops answering is counted as an upstream error
	c.nsqds[0].Exit()
	testutil.Eventually(t, 10*time.Second, func() bool {
		v, _ := testutil.ScrapeMetrics(t, a.url+"/metrics").Value("nsqadmin_upstream_errors_total", "upstream", c.node(0))
		return v >= 1
	}, "upstream error counted")
}
