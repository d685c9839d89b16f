package nsqd

import (
	"net/http"
	"strconv"

	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/promtext"
)

// metric is one nsqd family: name, help, type.
type metric struct {
	name, help string
	typ        promtext.Type
}

var (
	mHealth = metric{"nsqd_healthy", "1 when /ping answers OK (the last disk write succeeded and, replicated, the groups this node serves have a quorum), else 0.", promtext.Gauge}

	mTopicDepth        = metric{"nsqd_topic_depth", "Messages waiting in the topic (memory and disk), not yet copied to channels.", promtext.Gauge}
	mTopicBackendDepth = metric{"nsqd_topic_backend_depth", "Messages of the topic waiting on disk.", promtext.Gauge}
	mTopicMessages     = metric{"nsqd_topic_messages_total", "Messages published to the topic since start.", promtext.Counter}
	mTopicBytes        = metric{"nsqd_topic_message_bytes_total", "Body bytes published to the topic since start.", promtext.Counter}
	mTopicPaused       = metric{"nsqd_topic_paused", "1 when the topic is paused.", promtext.Gauge}

	mChannelDepth        = metric{"nsqd_channel_depth", "Messages queued in the channel (memory and disk), excluding in-flight and deferred.", promtext.Gauge}
	mChannelBackendDepth = metric{"nsqd_channel_backend_depth", "Messages of the channel queued on disk.", promtext.Gauge}
	mChannelInFlight     = metric{"nsqd_channel_in_flight", "Messages sent to a consumer and not yet finished.", promtext.Gauge}
	mChannelDeferred     = metric{"nsqd_channel_deferred", "Messages held back by DPUB or REQ with a delay.", promtext.Gauge}
	mChannelMessages     = metric{"nsqd_channel_messages_total", "Messages the topic handed to the channel since start.", promtext.Counter}
	mChannelRequeued     = metric{"nsqd_channel_requeued_total", "REQ commands on the channel since start.", promtext.Counter}
	mChannelTimedOut     = metric{"nsqd_channel_timed_out_total", "In-flight messages that timed out since start.", promtext.Counter}
	mChannelClients      = metric{"nsqd_channel_clients", "Subscribed connections.", promtext.Gauge}
	mChannelPaused       = metric{"nsqd_channel_paused", "1 when the channel is paused.", promtext.Gauge}
	mChannelLatency      = metric{"nsqd_channel_e2e_processing_latency_seconds", "Publish-to-FIN latency quantiles over the --e2e-processing-latency-window-time window.", promtext.Gauge}
	mChannelOldestAge    = metric{"nsqd_channel_oldest_message_age_seconds", "Age of the oldest message waiting for delivery (memory or disk), 0 when none waits.", promtext.Gauge}
	mChannelFinLatency   = metric{"nsqd_channel_fin_latency_seconds", "Delivery-to-FIN latency quantiles since the channel was created (bucket upper bounds, within 19%).", promtext.Gauge}
	mChannelFinCount     = metric{"nsqd_channel_fin_latency_count", "FINs counted by nsqd_channel_fin_latency_seconds.", promtext.Counter}
	mChannelDeadLetters  = metric{"nsqd_channel_dead_letters_total", "Messages moved to the dead-letter topic at the attempt limit since start.", promtext.Counter}
	mChannelMaxAttempts  = metric{"nsqd_channel_max_attempts", "Deliveries before a message becomes a dead letter, 0 = unlimited.", promtext.Gauge}
)

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// collectMetrics adds topic, channel and health figures, read from the
// same snapshot as /stats at scrape time (nothing is counted twice on the
// hot paths).
func (n *NSQD) collectMetrics(w *promtext.Writer) {
	add := func(m metric, v float64, labels ...promtext.Label) { w.Add(m.name, m.help, m.typ, v, labels...) }
	_, healthy := n.health()
	add(mHealth, boolValue(healthy))
	for _, t := range n.getStats(statsFilter{}) {
		if n.opts.MetricsExcludeEphemeral && names.IsEphemeral(t.TopicName) {
			continue
		}
		tl := promtext.Label{Name: "topic", Value: t.TopicName}
		add(mTopicDepth, float64(t.Depth), tl)
		add(mTopicBackendDepth, float64(t.BackendDepth), tl)
		add(mTopicMessages, float64(t.MessageCount), tl)
		add(mTopicBytes, float64(t.MessageBytes), tl)
		add(mTopicPaused, boolValue(t.Paused), tl)
		for _, c := range t.Channels {
			if n.opts.MetricsExcludeEphemeral && names.IsEphemeral(c.ChannelName) {
				continue
			}
			cl := promtext.Label{Name: "channel", Value: c.ChannelName}
			add(mChannelDepth, float64(c.Depth), tl, cl)
			add(mChannelBackendDepth, float64(c.BackendDepth), tl, cl)
			add(mChannelInFlight, float64(c.InFlightCount), tl, cl)
			add(mChannelDeferred, float64(c.DeferredCount), tl, cl)
			add(mChannelMessages, float64(c.MessageCount), tl, cl)
			add(mChannelRequeued, float64(c.RequeueCount), tl, cl)
			add(mChannelTimedOut, float64(c.TimeoutCount), tl, cl)
			add(mChannelClients, float64(c.ClientCount), tl, cl)
			add(mChannelPaused, boolValue(c.Paused), tl, cl)
			for _, p := range c.E2ELatency.Percentiles {
				add(mChannelLatency, p.Value/1e9, tl, cl, quantileLabel(p.Quantile))
			}
			add(mChannelOldestAge, float64(c.OldestMsgAgeMs)/1e3, tl, cl)
			for _, p := range c.FinLatency.Percentiles {
				add(mChannelFinLatency, p.Value/1e9, tl, cl, quantileLabel(p.Quantile))
			}
			add(mChannelFinCount, float64(c.FinLatency.Count), tl, cl)
			add(mChannelDeadLetters, float64(c.DeadLetterCount), tl, cl)
			add(mChannelMaxAttempts, float64(c.MaxAttempts), tl, cl)
		}
	}
}

func quantileLabel(q float64) promtext.Label {
	return promtext.Label{Name: "quantile", Value: strconv.FormatFloat(q, 'f', -1, 64)}
}

// newMetricsHandler serves this daemon's metrics plus the go_* and
// process_* families, built afresh for every scrape.
func newMetricsHandler(n *NSQD) http.Handler {
	return promtext.Handler(func(w *promtext.Writer) {
		n.collectMetrics(w)
		n.collectReplMetrics(w)
		promtext.AddGo(w)
		promtext.AddProcess(w)
	})
}
