package nsqd

import (
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/testutil"
)

func TestMetricsEndpoint(t *testing.T) {
	opts := testOptions(t)
	opts.E2EProcessingLatencyPercentiles = []float64{0.99}
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "prom", "c", 10)
	publish(t, n, "prom", "a", "b", "c")
	for i := 0; i < 3; i++ {
		m := sub.readMsg()
		if i == 0 {
			sub.cmd("REQ " + m.id + " 0")
			m = sub.readMsg()
		}
		sub.cmd("FIN " + m.id)
	}
	httpDo(t, n, "POST", "/channel/create?topic=prom&channel=idle", "")
	httpDo(t, n, "POST", "/channel/pause?topic=prom&channel=idle", "")
	var body string
	eventually(t, func() bool {
		code, b, _ := httpDo(t, n, "GET", "/metrics", "")
		body = b
		return code == 200 && strings.Contains(b, `nsqd_channel_requeued_total{channel="c",topic="prom"} 1`)
	}, "requeue counted in /metrics")
	if v, ok := testutil.ParseMetrics(t, body).Value("nsqd_channel_messages_total", "topic", "prom", "channel", "c"); !ok || v != 3 {
		t.Errorf("parsed nsqd_channel_messages_total = %v (present %v)", v, ok)
	}
	for _, want := range []string{
		"nsqd_healthy 1",
		`nsqd_topic_messages_total{topic="prom"} 3`,
		`nsqd_topic_message_bytes_total{topic="prom"} 3`,
		`nsqd_channel_messages_total{channel="c",topic="prom"} 3`,
		`nsqd_channel_depth{channel="idle",topic="prom"} 0`,
		`nsqd_channel_paused{channel="idle",topic="prom"} 1`,
		`nsqd_channel_clients{channel="c",topic="prom"} 1`,
		`nsqd_channel_e2e_processing_latency_seconds{channel="c",quantile="0.99",topic="prom"}`,
		"# TYPE nsqd_topic_messages_total counter",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
