package nsqadmin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// testAdmin is a running nsqadmin and its base URL (with --base-path).
type testAdmin struct {
	*NSQAdmin
	url string
}

// startAdmin runs an nsqadmin on 127.0.0.1:0 with opts changed by setup
// and stops it when the test ends.
func startAdmin(tb testing.TB, setup func(o *Options)) *testAdmin {
	tb.Helper()
	o := NewOptions()
	o.HTTPAddress = "127.0.0.1:0"
	o.Logger = testutil.NewLogger(tb)
	o.HTTPClientConnectTimeout = time.Second
	o.HTTPClientRequestTimeout = 2 * time.Second
	o.HistoryInterval = time.Hour // tests that want samples set their own
	setup(o)
	n, err := New(o)
	if err != nil {
		tb.Fatalf("nsqadmin.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	tb.Cleanup(func() {
		n.Exit()
		if err := <-done; err != nil {
			tb.Errorf("nsqadmin.Main: %v", err)
		}
	})
	bp := n.getOpts().BasePath
	if bp == "/" {
		bp = ""
	}
	return &testAdmin{NSQAdmin: n, url: "http://" + n.RealHTTPAddr().String() + bp}
}

// reply is an HTTP answer with its body parsed as JSON when it is JSON.
type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r *reply) message() string {
	m, _ := r.json["message"].(string)
	return m
}

// call sends a request with an optional JSON body and headers.
func call(tb testing.TB, method, url string, body any, headers ...string) *reply {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := &reply{status: resp.StatusCode, header: resp.Header, body: data}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && resp.Header.Get("Content-Encoding") == "" && bytes.HasPrefix(data, []byte("{")) {
		if err := json.Unmarshal(data, &r.json); err != nil {
			tb.Fatalf("%s %s: bad JSON %q: %v", method, url, data, err)
		}
	}
	return r
}

// getOK fetches url and fails unless it is 200 JSON.
func getOK(tb testing.TB, url string) map[string]any {
	tb.Helper()
	r := call(tb, "GET", url, nil)
	if r.status != 200 || r.json == nil {
		tb.Fatalf("GET %s: %d %s", url, r.status, r.body)
	}
	return r.json
}

// keys returns an object's keys, sorted.
func keys(v any) []string {
	m, _ := v.(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wantKeys fails unless obj has exactly the keys want.
func wantKeys(tb testing.TB, what string, obj any, want ...string) {
	tb.Helper()
	sort.Strings(want)
	if got := keys(obj); strings.Join(got, ",") != strings.Join(want, ",") {
		tb.Errorf("%s keys:\n got %v\nwant %v", what, got, want)
	}
}

// num reads a JSON number as int64.
func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// topicStatsKeys are the keys of an aggregated or per-node TopicStats.
var topicStatsKeys = []string{"node", "hostname", "topic_name", "depth", "memory_depth", "backend_depth",
	"message_count", "delivery_msg_count", "nodes", "channels", "paused", "e2e_processing_latency"}

// channelStatsKeys are the keys of a ChannelStats without delivery counts.
var channelStatsKeys = []string{"node", "hostname", "topic_name", "channel_name", "depth", "memory_depth",
	"backend_depth", "in_flight_count", "deferred_count", "requeue_count", "timeout_count", "message_count",
	"client_count", "nodes", "clients", "paused", "e2e_processing_latency"}

// clientStatsKeys are the keys of a client without topology.
var clientStatsKeys = []string{"node", "remote_address", "version", "client_id", "hostname", "user_agent",
	"connect_ts", "connected", "in_flight_count", "ready_count", "finish_count", "requeue_count", "message_count",
	"sample_rate", "deflate", "snappy", "authed", "auth_identity", "auth_identity_url", "tls", "tls_cipher_suite",
	"tls_version", "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual"}

var e2eKeys = []string{"count", "percentiles", "topic", "channel", "host"}

var producerKeys = []string{"remote_addresses", "remote_address", "hostname", "broadcast_address", "tcp_port",
	"http_port", "version", "topics", "out_of_date"}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
