package nsqadmin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dropin/nsq/internal/httpmetrics"
)

// metrics is what GET <bp>/metrics serves (beyond NSQ): nsqadmin's own
// HTTP requests, its upstream queries to nsqd and nsqlookupd (counted in
// the HTTP client's transport, so every query is seen), the history
// sampler, and the Go runtime. Safe for concurrent use.
type metrics struct {
	http           *httpmetrics.Requests
	upstream       *prometheus.CounterVec
	upstreamErrors *prometheus.CounterVec
	upstreamTime   *prometheus.HistogramVec
	samples        *prometheus.CounterVec
	sampleTime     prometheus.Histogram
	handler        http.Handler
}

var descHistoryPoints = prometheus.NewDesc("nsqadmin_history_points",
	"Samples held in the history ring (at most --history-duration / --history-interval).", nil, nil)
var descHistorySeries = prometheus.NewDesc("nsqadmin_history_series",
	"Series (cluster, topics, channels) held in the history.", nil, nil)

func newMetrics(h *history) *metrics {
	m := &metrics{
		http: httpmetrics.New("nsqadmin_http"),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nsqadmin_upstream_requests_total",
			Help: "Queries to nsqd and nsqlookupd, by upstream host:port, path and status code (\"error\" when no reply came).",
		}, []string{"upstream", "path", "code"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nsqadmin_upstream_errors_total",
			Help: "Queries to nsqd and nsqlookupd that failed: no reply, or a status other than 200.",
		}, []string{"upstream"}),
		upstreamTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nsqadmin_upstream_request_duration_seconds",
			Help:    "Time to the reply headers of a query to nsqd or nsqlookupd, by path.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"path"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nsqadmin_history_samples_total",
			Help: "History samples taken, by result: ok, or gap when no node answered.",
		}, []string{"result"}),
		sampleTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nsqadmin_history_sample_duration_seconds",
			Help:    "Time to take one history sample (ask every node for /stats).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.http.Collectors()...)
	reg.MustRegister(m.upstream, m.upstreamErrors, m.upstreamTime, m.samples, m.sampleTime, historyCollector{h},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// instrument wraps the upstream HTTP client's transport.
func (m *metrics) instrument(c *http.Client) {
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = roundTripper{m: m, next: next}
}

type roundTripper struct {
	m    *metrics
	next http.RoundTripper
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	path := upstreamPath(req.URL.Path)
	t.m.upstreamTime.WithLabelValues(path).Observe(time.Since(start).Seconds())
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.m.upstream.WithLabelValues(req.URL.Host, path, code).Inc()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.m.upstreamErrors.WithLabelValues(req.URL.Host).Inc()
	}
	return resp, err
}

// upstreamPath keeps the path label to the routes nsqadmin calls.
func upstreamPath(p string) string {
	switch p {
	case "/stats", "/info", "/ping", "/lookup", "/nodes", "/topics", "/channels",
		"/topic/create", "/topic/delete", "/topic/empty", "/topic/pause", "/topic/unpause", "/topic/tombstone",
		"/channel/create", "/channel/delete", "/channel/empty", "/channel/pause", "/channel/unpause",
		"/channel/config", "/channel/dead", "/channel/dead/replay", "/channel/peek":
		return p
	}
	return "other"
}

// historyCollector reads the history's size at scrape time.
type historyCollector struct{ h *history }

func (c historyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHistoryPoints
	ch <- descHistorySeries
}

func (c historyCollector) Collect(ch chan<- prometheus.Metric) {
	points, series := c.h.counts()
	ch <- prometheus.MustNewConstMetric(descHistoryPoints, prometheus.GaugeValue, float64(points))
	ch <- prometheus.MustNewConstMetric(descHistorySeries, prometheus.GaugeValue, float64(series))
}
