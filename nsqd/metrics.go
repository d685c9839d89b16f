package nsqd

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dropin/nsq/internal/names"
)

// metricsCollector exports topic, channel and health figures for a
// Prometheus scrape of GET /metrics, read from the same snapshot as
// /stats at scrape time (nothing is counted twice on the hot paths).
type metricsCollector struct {
	n *NSQD
}

var (
	topicLabels   = []string{"topic"}
	channelLabels = []string{"topic", "channel"}

	descHealth = prometheus.NewDesc("nsqd_healthy", "1 when the last disk write succeeded (see /ping), else 0.", nil, nil)

	descTopicDepth        = prometheus.NewDesc("nsqd_topic_depth", "Messages waiting in the topic (memory and disk), not yet copied to channels.", topicLabels, nil)
	descTopicBackendDepth = prometheus.NewDesc("nsqd_topic_backend_depth", "Messages of the topic waiting on disk.", topicLabels, nil)
	descTopicMessages     = prometheus.NewDesc("nsqd_topic_messages_total", "Messages published to the topic since start.", topicLabels, nil)
	descTopicBytes        = prometheus.NewDesc("nsqd_topic_message_bytes_total", "Body bytes published to the topic since start.", topicLabels, nil)
	descTopicPaused       = prometheus.NewDesc("nsqd_topic_paused", "1 when the topic is paused.", topicLabels, nil)

	descChannelDepth        = prometheus.NewDesc("nsqd_channel_depth", "Messages queued in the channel (memory and disk), excluding in-flight and deferred.", channelLabels, nil)
	descChannelBackendDepth = prometheus.NewDesc("nsqd_channel_backend_depth", "Messages of the channel queued on disk.", channelLabels, nil)
	descChannelInFlight     = prometheus.NewDesc("nsqd_channel_in_flight", "Messages sent to a consumer and not yet finished.", channelLabels, nil)
	descChannelDeferred     = prometheus.NewDesc("nsqd_channel_deferred", "Messages held back by DPUB or REQ with a delay.", channelLabels, nil)
	descChannelMessages     = prometheus.NewDesc("nsqd_channel_messages_total", "Messages the topic handed to the channel since start.", channelLabels, nil)
	descChannelRequeued     = prometheus.NewDesc("nsqd_channel_requeued_total", "REQ commands on the channel since start.", channelLabels, nil)
	descChannelTimedOut     = prometheus.NewDesc("nsqd_channel_timed_out_total", "In-flight messages that timed out since start.", channelLabels, nil)
	descChannelClients      = prometheus.NewDesc("nsqd_channel_clients", "Subscribed connections.", channelLabels, nil)
	descChannelPaused       = prometheus.NewDesc("nsqd_channel_paused", "1 when the channel is paused.", channelLabels, nil)
	descChannelLatency      = prometheus.NewDesc("nsqd_channel_e2e_processing_latency_seconds", "Publish-to-FIN latency quantiles over the --e2e-processing-latency-window-time window.", []string{"topic", "channel", "quantile"}, nil)
	descChannelOldestAge    = prometheus.NewDesc("nsqd_channel_oldest_message_age_seconds", "Age of the oldest message waiting for delivery (memory or disk), 0 when none waits.", channelLabels, nil)
	descChannelFinLatency   = prometheus.NewDesc("nsqd_channel_fin_latency_seconds", "Delivery-to-FIN latency quantiles since the channel was created (bucket upper bounds, within 19%).", []string{"topic", "channel", "quantile"}, nil)
	descChannelFinCount     = prometheus.NewDesc("nsqd_channel_fin_latency_count", "FINs counted by nsqd_channel_fin_latency_seconds.", channelLabels, nil)
	descChannelDeadLetters  = prometheus.NewDesc("nsqd_channel_dead_letters_total", "Messages moved to the dead-letter topic at the attempt limit since start.", channelLabels, nil)
	descChannelMaxAttempts  = prometheus.NewDesc("nsqd_channel_max_attempts", "Deliveries before a message becomes a dead letter, 0 = unlimited.", channelLabels, nil)
)

func (m metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHealth, descTopicDepth, descTopicBackendDepth, descTopicMessages,
		descTopicBytes, descTopicPaused, descChannelDepth, descChannelBackendDepth, descChannelInFlight,
		descChannelDeferred, descChannelMessages, descChannelRequeued, descChannelTimedOut, descChannelClients,
		descChannelPaused, descChannelLatency, descChannelOldestAge, descChannelFinLatency, descChannelFinCount,
		descChannelDeadLetters, descChannelMaxAttempts} {
		ch <- d
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m metricsCollector) Collect(ch chan<- prometheus.Metric) {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	_, healthy := m.n.health()
	ch <- prometheus.MustNewConstMetric(descHealth, gauge, boolValue(healthy))
	for _, t := range m.n.getStats(statsFilter{}) {
		if m.n.opts.MetricsExcludeEphemeral && names.IsEphemeral(t.TopicName) {
			continue
		}
		tl := []string{t.TopicName}
		ch <- prometheus.MustNewConstMetric(descTopicDepth, gauge, float64(t.Depth), tl...)
		ch <- prometheus.MustNewConstMetric(descTopicBackendDepth, gauge, float64(t.BackendDepth), tl...)
		ch <- prometheus.MustNewConstMetric(descTopicMessages, counter, float64(t.MessageCount), tl...)
		ch <- prometheus.MustNewConstMetric(descTopicBytes, counter, float64(t.MessageBytes), tl...)
		ch <- prometheus.MustNewConstMetric(descTopicPaused, gauge, boolValue(t.Paused), tl...)
		for _, c := range t.Channels {
			if m.n.opts.MetricsExcludeEphemeral && names.IsEphemeral(c.ChannelName) {
				continue
			}
			cl := []string{t.TopicName, c.ChannelName}
			ch <- prometheus.MustNewConstMetric(descChannelDepth, gauge, float64(c.Depth), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelBackendDepth, gauge, float64(c.BackendDepth), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelInFlight, gauge, float64(c.InFlightCount), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelDeferred, gauge, float64(c.DeferredCount), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelMessages, counter, float64(c.MessageCount), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelRequeued, counter, float64(c.RequeueCount), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelTimedOut, counter, float64(c.TimeoutCount), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelClients, gauge, float64(c.ClientCount), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelPaused, gauge, boolValue(c.Paused), cl...)
			for _, p := range c.E2ELatency.Percentiles {
				ch <- prometheus.MustNewConstMetric(descChannelLatency, gauge, p.Value/1e9,
					t.TopicName, c.ChannelName, strconv.FormatFloat(p.Quantile, 'f', -1, 64))
			}
			ch <- prometheus.MustNewConstMetric(descChannelOldestAge, gauge, float64(c.OldestMsgAgeMs)/1e3, cl...)
			for _, p := range c.FinLatency.Percentiles {
				ch <- prometheus.MustNewConstMetric(descChannelFinLatency, gauge, p.Value/1e9,
					t.TopicName, c.ChannelName, strconv.FormatFloat(p.Quantile, 'f', -1, 64))
			}
			ch <- prometheus.MustNewConstMetric(descChannelFinCount, counter, float64(c.FinLatency.Count), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelDeadLetters, counter, float64(c.DeadLetterCount), cl...)
			ch <- prometheus.MustNewConstMetric(descChannelMaxAttempts, gauge, float64(c.MaxAttempts), cl...)
		}
	}
}

// newMetricsHandler serves this daemon's metrics plus the Go runtime and
// process collectors, on a registry of its own (several daemons may share
// a process in tests).
func newMetricsHandler(n *NSQD) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metricsCollector{n: n}, replCollector{n: n}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
