package nsqlookupd

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dropin/nsq/internal/httpmetrics"
	"github.com/dropin/nsq/internal/names"
)

// metrics is what GET /metrics serves (beyond NSQ): the registration
// table read at scrape time, HTTP requests and TCP commands as they are
// served, and the Go runtime. Safe for concurrent use.
type metrics struct {
	http       *httpmetrics.Requests
	tcpTotal   *prometheus.CounterVec
	tcpSeconds *prometheus.HistogramVec
	handler    http.Handler
}

var (
	descRegistrations  = prometheus.NewDesc("nsqlookupd_registrations", "Keys in the registration table by category (client, topic, channel), with or without producers.", []string{"category"}, nil)
	descProducers      = prometheus.NewDesc("nsqlookupd_producers", "Identified nsqd connections that pinged within --inactive-producer-timeout (the entries of /nodes).", nil, nil)
	descTopicProducers = prometheus.NewDesc("nsqlookupd_topic_producers", "Active, untombstoned producers of a topic (the producers of /lookup).", []string{"topic"}, nil)
	descTopicChannels  = prometheus.NewDesc("nsqlookupd_topic_channels", "Channel keys of a topic (the channels of /lookup).", []string{"topic"}, nil)
	descTombstones     = prometheus.NewDesc("nsqlookupd_tombstones", "Producers of a topic tombstoned within --tombstone-lifetime.", []string{"topic"}, nil)
	descConnections    = prometheus.NewDesc("nsqlookupd_tcp_connections", "Open TCP connections.", nil, nil)
)

func newMetrics(n *NSQLookupd) *metrics {
	m := &metrics{
		http: httpmetrics.New("nsqlookupd_http"),
		tcpTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nsqlookupd_tcp_commands_total",
			Help: "TCP commands executed, by command (PING, IDENTIFY, REGISTER, UNREGISTER, other) and result (ok, error).",
		}, []string{"command", "result"}),
		tcpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nsqlookupd_tcp_command_duration_seconds",
			Help:    "Time to execute a TCP command, reply not included.",
			Buckets: []float64{.00001, .00005, .0001, .0005, .001, .005, .01, .05, .1},
		}, []string{"command"}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.http.Collectors()...)
	reg.MustRegister(m.tcpTotal, m.tcpSeconds, dbCollector{n},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// observeCommand records one TCP command.
func (m *metrics) observeCommand(cmd string, took time.Duration, failed bool) {
	switch cmd {
	case "PING", "IDENTIFY", "REGISTER", "UNREGISTER":
	default:
		cmd = "other"
	}
	result := "ok"
	if failed {
		result = "error"
	}
	m.tcpTotal.WithLabelValues(cmd, result).Inc()
	m.tcpSeconds.WithLabelValues(cmd).Observe(took.Seconds())
}

// dbCollector reads the registration table at scrape time.
type dbCollector struct{ n *NSQLookupd }

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRegistrations, descProducers, descTopicProducers, descTopicChannels, descTombstones, descConnections} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.n.db.snapshot()
	gauge := prometheus.GaugeValue
	for _, cat := range []string{categoryClient, categoryTopic, categoryChannel} {
		ch <- prometheus.MustNewConstMetric(descRegistrations, gauge, float64(s.keys[cat]), cat)
	}
	ch <- prometheus.MustNewConstMetric(descProducers, gauge, float64(s.producers))
	for _, t := range s.topics {
		if c.n.opts.MetricsExcludeEphemeral && names.IsEphemeral(t.name) {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descTopicProducers, gauge, float64(t.producers), t.name)
		ch <- prometheus.MustNewConstMetric(descTopicChannels, gauge, float64(c.n.countChannels(t.name)), t.name)
		ch <- prometheus.MustNewConstMetric(descTombstones, gauge, float64(t.tombstones), t.name)
	}
	c.n.mu.Lock()
	conns := len(c.n.conns)
	c.n.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descConnections, gauge, float64(conns))
}

// countChannels counts topic's channel keys, leaving ephemeral ones out
// with --metrics-exclude-ephemeral.
func (n *NSQLookupd) countChannels(topic string) int {
	count := 0
	for _, ch := range n.db.channelsOf(topic) {
		if !n.opts.MetricsExcludeEphemeral || !names.IsEphemeral(ch) {
			count++
		}
	}
	return count
}

// dbSnapshot is the registration table's figures at one instant.
type dbSnapshot struct {
	keys      map[string]int // by category
	producers int            // active identified peers
	topics    []topicFigures
}

type topicFigures struct {
	name                  string
	producers, tombstones int
}

// snapshot counts keys, active peers and, per topic, active untombstoned
// producers and live tombstones, under one read lock.
func (db *registrationDB) snapshot() dbSnapshot {
	now := db.now()
	db.mu.RLock()
	defer db.mu.RUnlock()
	s := dbSnapshot{keys: map[string]int{}}
	for k, ps := range db.regs {
		s.keys[k.Category]++
		switch k.Category {
		case categoryClient:
			for _, p := range ps {
				if p.peer.isActive(now, db.inactiveTimeout) {
					s.producers++
				}
			}
		case categoryTopic:
			f := topicFigures{name: k.Key}
			for _, p := range ps {
				switch {
				case p.isTombstonedLocked(now, db.tombstoneLifetime):
					f.tombstones++
				case p.peer.isActive(now, db.inactiveTimeout):
					f.producers++
				}
			}
			s.topics = append(s.topics, f)
		}
	}
	return s
}
