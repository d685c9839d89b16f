package nsqd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	quant "github.com/dropin/nsq/internal/quantile"
	"github.com/dropin/nsq/internal/version"
)

// statsJSON fetches /stats?format=json plus query and returns the body
// after checking the V1 JSON headers.
func statsJSON(tb testing.TB, n *NSQD, query string) []byte {
	tb.Helper()
	return []byte(checkV1JSON(tb, httpCall(tb, n, "GET", "/stats?format=json"+query, "")))
}

// jsonKeyOrder returns the keys of a JSON object in document order.
func jsonKeyOrder(tb testing.TB, raw []byte) []string {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		tb.Fatalf("not a JSON object: %.100s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			tb.Fatal(err)
		}
	}
	return keys
}

// jsonPath walks raw along path: object keys, or array indexes as numbers.
func jsonPath(tb testing.TB, raw []byte, path ...string) json.RawMessage {
	tb.Helper()
	cur := json.RawMessage(raw)
	for _, p := range path {
		if len(cur) > 0 && cur[0] == '[' {
			var arr []json.RawMessage
			i, err := strconv.Atoi(p)
			if err != nil || json.Unmarshal(cur, &arr) != nil || i >= len(arr) {
				tb.Fatalf("no element %s in %.200s", p, cur)
			}
			cur = arr[i]
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			tb.Fatalf("not an object at %s: %.200s", p, cur)
		}
		v, ok := obj[p]
		if !ok {
			tb.Fatalf("no key %q in %.300s", p, cur)
		}
		cur = v
	}
	return cur
}

func checkKeyOrder(tb testing.TB, what string, raw []byte, want ...string) {
	tb.Helper()
	if got := jsonKeyOrder(tb, raw); strings.Join(got, ",") != strings.Join(want, ",") {
		tb.Errorf("%s keys:\n got %v\nwant %v", what, got, want)
	}
}

func checkJSONValue(tb testing.TB, what string, got json.RawMessage, want string) {
	tb.Helper()
	if string(got) != want {
		tb.Errorf("%s = %s, want %s", what, got, want)
	}
}

// dialIdentified dials n and sends IDENTIFY with fields if any.
func dialIdentified(tb testing.TB, n *NSQD, fields map[string]any) *testConn {
	tb.Helper()
	c := dial(tb, n)
	if fields != nil {
		if f := c.identify(fields); string(f.data) != "OK" {
			tb.Fatalf("IDENTIFY: %s", f)
		}
	}
	return c
}

func (c *testConn) pubOK(topic, body string) {
	c.tb.Helper()
	c.cmd("PUB "+topic, []byte(body))
	c.expectOK()
}

func (c *testConn) localPort() int { return c.conn.LocalAddr().(*net.TCPAddr).Port }

var (
	statsTopicKeys = []string{"topic_name", "channels", "depth", "backend_depth", "message_count", "message_bytes",
		"paused", "e2e_processing_latency", "storage"} // storage: beyond NSQ
	statsClientKeys = []string{"client_id", "hostname", "version", "remote_address", "state", "ready_count",
		"in_flight_count", "message_count", "finish_count", "requeue_count", "connect_ts", "sample_rate",
		"deflate", "snappy", "user_agent", "topology_zone", "topology_region", "tls", "tls_cipher_suite",
		"tls_version", "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual"}
	statsMemKeys = []string{"heap_objects", "heap_idle_bytes", "heap_in_use_bytes", "heap_released_bytes",
		"gc_pause_usec_100", "gc_pause_usec_99", "gc_pause_usec_95", "next_gc_bytes", "gc_total_runs"}
)

// statsChannelKeys lists a channel's keys; global_msg_count only appears once
// something was delivered.
func statsChannelKeys(delivered bool) []string {
	keys := []string{"channel_name", "depth", "backend_depth", "in_flight_count", "deferred_count", "message_count"}
	if delivered {
		keys = append(keys, "global_msg_count")
	}
	keys = append(keys, "requeue_count", "timeout_count", "client_count", "clients", "paused", "e2e_processing_latency")
	// beyond NSQ, after all of NSQ's keys
	return append(keys, "oldest_msg_age_ms", "fin_latency", "max_attempts", "dead_letter_topic", "dead_letter_count")
}

// statsProducerKeys are a client's keys with pub_counts after topology_region.
func statsProducerKeys() []string {
	var out []string
	for _, k := range statsClientKeys {
		out = append(out, k)
		if k == "topology_region" {
			out = append(out, "pub_counts")
		}
	}
	return out
}

func TestStatsJSONShape(t *testing.T) {
	opts := testOptions(t)
	opts.TopologyZone = "nz"
	n := startNSQD(t, opts)
	sub := dialIdentified(t, n, map[string]any{"client_id": "cid", "hostname": "chost", "user_agent": "ua/1",
		"topology_zone": "cz", "topology_region": "cr"})
	sub.cmd("SUB t1 c1")
	sub.expectOK()
	sub.cmd("RDY 1")
	prod := dialIdentified(t, n, map[string]any{"client_id": "pid", "hostname": "phost", "user_agent": "pa/2"})
	prod.pubOK("t1", "hello")
	sub.readMsg()
	eventually(t, func() bool { return channelStatsOf(t, n, "t1", "c1").InFlightCount == 1 }, "one in flight")

	raw := statsJSON(t, n, "")
	checkKeyOrder(t, "top level", raw, "version", "health", "start_time", "topics", "memory", "producers")
	checkJSONValue(t, "version", jsonPath(t, raw, "version"), `"1.3.0"`)
	checkJSONValue(t, "health", jsonPath(t, raw, "health"), `"OK"`)
	if st, _ := strconv.ParseInt(string(jsonPath(t, raw, "start_time")), 10, 64); st != n.startTime.Unix() {
		t.Errorf("start_time %d, want %d", st, n.startTime.Unix())
	}
	checkKeyOrder(t, "memory", jsonPath(t, raw, "memory"), statsMemKeys...)

	topic := jsonPath(t, raw, "topics", "0")
	checkKeyOrder(t, "topic", topic, statsTopicKeys...)
	checkJSONValue(t, "topic_name", jsonPath(t, topic, "topic_name"), `"t1"`)
	checkJSONValue(t, "topic message_count", jsonPath(t, topic, "message_count"), `1`)
	checkJSONValue(t, "topic message_bytes", jsonPath(t, topic, "message_bytes"), `5`)
	checkJSONValue(t, "topic paused", jsonPath(t, topic, "paused"), `false`)
	checkJSONValue(t, "topic e2e", jsonPath(t, topic, "e2e_processing_latency"), `{"count":0,"percentiles":null}`)

	ch := jsonPath(t, topic, "channels", "0")
	checkKeyOrder(t, "channel", ch, statsChannelKeys(true)...)
	for k, v := range map[string]string{"channel_name": `"c1"`, "depth": "0", "backend_depth": "0",
		"in_flight_count": "1", "deferred_count": "0", "message_count": "1", "global_msg_count": "1",
		"requeue_count": "0", "timeout_count": "0", "client_count": "1", "paused": "false",
		"e2e_processing_latency": `{"count":0,"percentiles":null}`} {
		checkJSONValue(t, "channel "+k, jsonPath(t, ch, k), v)
	}

	cl := jsonPath(t, ch, "clients", "0")
	checkKeyOrder(t, "client", cl, statsClientKeys...)
	for k, v := range map[string]string{"client_id": `"cid"`, "hostname": `"chost"`, "version": `"V2"`,
		"remote_address": fmt.Sprintf(`"127.0.0.1:%d"`, sub.localPort()), "state": "3", "ready_count": "1",
		"in_flight_count": "1", "message_count": "1", "finish_count": "0", "requeue_count": "0",
		"sample_rate": "0", "deflate": "false", "snappy": "false", "user_agent": `"ua/1"`,
		"topology_zone": `"cz"`, "topology_region": `"cr"`, "tls": "false", "tls_cipher_suite": `""`,
		"tls_version": `""`, "tls_negotiated_protocol": `""`, "tls_negotiated_protocol_is_mutual": "false"} {
		checkJSONValue(t, "client "+k, jsonPath(t, cl, k), v)
	}
	if ts, _ := strconv.ParseInt(string(jsonPath(t, cl, "connect_ts")), 10, 64); ts < n.startTime.Unix() || ts > time.Now().Unix() {
		t.Errorf("connect_ts %d out of range", ts)
	}

	p := jsonPath(t, raw, "producers", "0")
	checkKeyOrder(t, "producer", p, statsProducerKeys()...)
	checkKeyOrder(t, "pub_counts entry", jsonPath(t, p, "pub_counts", "0"), "topic", "count")
	checkJSONValue(t, "pub_counts", jsonPath(t, p, "pub_counts"), `[{"topic":"t1","count":1}]`)
	checkJSONValue(t, "producer state", jsonPath(t, p, "state"), "0")
	checkJSONValue(t, "producer remote_address", jsonPath(t, p, "remote_address"), fmt.Sprintf(`"127.0.0.1:%d"`, prod.localPort()))
	checkJSONValue(t, "producer user_agent", jsonPath(t, p, "user_agent"), `"pa/2"`)

	checkKeyOrder(t, "top level without memory", statsJSON(t, n, "&include_mem=false"),
		"version", "health", "start_time", "topics", "producers")
	// without deliveries, global_msg_count is omitted
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=t1&channel=idle", ""))
	checkKeyOrder(t, "idle channel", jsonPath(t, statsJSON(t, n, "&channel=idle"), "topics", "0", "channels", "0"), statsChannelKeys(false)...)
}

func TestStatsNullVsEmpty(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	raw := statsJSON(t, n, "")
	checkJSONValue(t, "fresh topics", jsonPath(t, raw, "topics"), `[]`)
	checkJSONValue(t, "fresh producers", jsonPath(t, raw, "producers"), `null`)

	prod := dialIdentified(t, n, nil)
	prod.pubOK("a", "m")
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=bare", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=a&channel=nosubs", ""))
	sub := subscribe(t, n, "a", "c", 0)
	_ = sub

	cases := []struct {
		query string
		path  []string
		want  string
	}{
		{"&topic=nope", []string{"topics"}, `null`},
		{"&topic=nope", []string{"producers"}, `null`}, // like NSQ: nothing at all for an unknown topic
		{"&topic=nope&include_mem=false", []string{"topics"}, `null`},
		{"&channel=nope", []string{"topics"}, `[]`},
		{"&topic=a&channel=nope", []string{"topics"}, `[]`},
		{"&topic=bare", []string{"topics", "0", "channels"}, `[]`},
		{"&topic=bare", []string{"topics", "0", "e2e_processing_latency"}, `{"count":0,"percentiles":null}`},
		{"&topic=a&channel=nosubs", []string{"topics", "0", "channels", "0", "clients"}, `[]`},
		{"&topic=a&channel=c&include_clients=false", []string{"topics", "0", "channels", "0", "clients"}, `null`},
		{"&topic=a&channel=c&include_clients=false", []string{"topics", "0", "channels", "0", "client_count"}, `1`},
		{"&include_clients=false", []string{"producers"}, `null`},
		{"&include_clients=0", []string{"producers"}, `null`},
		{"&topic=a&channel=c&include_clients=0", []string{"topics", "0", "channels", "0", "clients"}, `null`},
	}
	for _, c := range cases {
		t.Run(c.query+"/"+strings.Join(c.path, "."), func(t *testing.T) {
			checkJSONValue(t, strings.Join(c.path, "."), jsonPath(t, statsJSON(t, n, c.query), c.path...), c.want)
		})
	}
}

func TestStatsIncludeParams(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	prod := dialIdentified(t, n, nil)
	prod.pubOK("t", "m")
	subscribe(t, n, "t", "c", 0)
	for _, c := range []struct {
		value                string
		withClients, withMem bool
	}{
		{"true", true, true},
		{"1", true, true},
		{"false", false, false},
		{"0", false, false},
		{"yes", true, true},
		{"FALSE", true, true},
		{"", true, true},
	} {
		t.Run(c.value, func(t *testing.T) {
			raw := statsJSON(t, n, "&include_clients="+c.value+"&include_mem="+c.value)
			clients := string(jsonPath(t, raw, "topics", "0", "channels", "0", "clients"))
			producers := string(jsonPath(t, raw, "producers"))
			if (clients != "null") != c.withClients || (producers != "null") != c.withClients {
				t.Errorf("clients %s producers %.40s, want listed=%v", clients, producers, c.withClients)
			}
			hasMem := strings.Contains(strings.Join(jsonKeyOrder(t, raw), ","), "memory")
			if hasMem != c.withMem {
				t.Errorf("memory present=%v, want %v", hasMem, c.withMem)
			}
		})
	}
	// first value wins
	raw := statsJSON(t, n, "&include_clients=false&include_clients=true")
	checkJSONValue(t, "producers", jsonPath(t, raw, "producers"), "null")
}

func TestStatsFilters(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, tc := range []string{"a/x", "a/y", "b/x", "c/z"} {
		parts := strings.Split(tc, "/")
		checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic="+parts[0], ""))
		checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic="+parts[0]+"&channel="+parts[1], ""))
	}
	shape := func(s statsResponse) string {
		var out []string
		for _, t := range s.Topics {
			var chans []string
			for _, c := range t.Channels {
				chans = append(chans, c.ChannelName)
			}
			out = append(out, t.TopicName+"("+strings.Join(chans, ",")+")")
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ query, want string }{
		{"", "a(x,y) b(x) c(z)"},
		{"&topic=a", "a(x,y)"},
		{"&topic=", "a(x,y) b(x) c(z)"},
		{"&channel=x", "a(x) b(x)"},
		{"&topic=a&channel=y", "a(y)"},
		{"&topic=c&channel=x", ""},
		{"&topic=b&topic=a", "b(x)"},
		{"&channel=z&channel=x", "c(z)"},
	} {
		t.Run(c.query, func(t *testing.T) {
			if got := shape(getStats(t, n, c.query)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestStatsFormat(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, c := range []struct {
		query string
		json  bool
	}{
		{"?format=json", true},
		{"?format=json&format=text", true},
		{"?format=text&format=json", false},
		{"", false},
		{"?format=JSON", false},
		{"?format=text", false},
		{"?format=xml", false},
	} {
		r := httpCall(t, n, "GET", "/stats"+c.query, "")
		if r.header.Get(hdrNSQ) != nsqV1Value || r.code != 200 {
			t.Fatalf("%s: %s", c.query, r)
		}
		isJSON := r.header.Get(hdrType) == ctJSON && strings.HasPrefix(r.body, "{")
		isText := r.header.Get(hdrType) == ctText && strings.HasPrefix(r.body, version.String("nsqd")+"\n")
		if isJSON != c.json || isText == c.json {
			t.Fatalf("%s: got %.60q (%s), want json=%v", c.query, r.body, r.header.Get(hdrType), c.json)
		}
	}
}

func TestStatsSorting(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, topic := range []string{"zz", "aa", "mm", "Mb"} {
		checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic="+topic, ""))
	}
	for _, ch := range []string{"c3", "c1", "c2", "C9"} {
		checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=mm&channel="+ch, ""))
	}
	s := getStats(t, n, "")
	var topics, chans []string
	for _, tp := range s.Topics {
		topics = append(topics, tp.TopicName)
		if tp.TopicName == "mm" {
			for _, c := range tp.Channels {
				chans = append(chans, c.ChannelName)
			}
		}
	}
	if strings.Join(topics, ",") != "Mb,aa,mm,zz" || strings.Join(chans, ",") != "C9,c1,c2,c3" {
		t.Fatalf("topics %v channels %v, want sorted by name", topics, chans)
	}
}

func TestStatsProducers(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	p1 := dialIdentified(t, n, nil)
	p1.pubOK("pa", "1")
	p1.pubOK("pa", "2")
	p1.pubOK("pb", "3")
	p2 := dialIdentified(t, n, map[string]any{"hostname": "p2host", "user_agent": "p2/1"})
	p2.cmd("MPUB pa", mpubBody("x", "y", "z"))
	p2.expectOK()
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=pa", "over http"))
	subscribe(t, n, "pa", "c", 0)
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=pc", ""))

	// producers by local port of the connection
	byPort := func(query string) map[int]json.RawMessage {
		t.Helper()
		var list []json.RawMessage
		if err := json.Unmarshal(jsonPath(t, statsJSON(t, n, query), "producers"), &list); err != nil {
			t.Fatal(err)
		}
		out := map[int]json.RawMessage{}
		for _, p := range list {
			var addr string
			json.Unmarshal(jsonPath(t, p, "remote_address"), &addr)
			_, port, _ := net.SplitHostPort(addr)
			k, _ := strconv.Atoi(port)
			out[k] = p
		}
		return out
	}
	pubCounts := func(p json.RawMessage) string {
		for _, k := range jsonKeyOrder(t, p) {
			if k == "pub_counts" {
				return string(jsonPath(t, p, "pub_counts"))
			}
		}
		return "(omitted)"
	}

	all := byPort("")
	if len(all) != 2 || all[p1.localPort()] == nil || all[p2.localPort()] == nil {
		t.Fatalf("producers %v, want exactly the two TCP publishers", all)
	}
	// without a filter: one arbitrary entry of those published to
	if got := pubCounts(all[p1.localPort()]); got != `[{"topic":"pa","count":2}]` && got != `[{"topic":"pb","count":1}]` {
		t.Errorf("p1 pub_counts %s, want one entry", got)
	}
	checkJSONValue(t, "p2 pub_counts", json.RawMessage(pubCounts(all[p2.localPort()])), `[{"topic":"pa","count":3}]`)
	checkJSONValue(t, "p1 client_id before IDENTIFY", jsonPath(t, all[p1.localPort()], "client_id"), `"127.0.0.1"`)
	checkJSONValue(t, "p1 hostname before IDENTIFY", jsonPath(t, all[p1.localPort()], "hostname"), `"127.0.0.1"`)
	checkJSONValue(t, "p2 client_id omitted from IDENTIFY", jsonPath(t, all[p2.localPort()], "client_id"), `""`)
	checkJSONValue(t, "p2 hostname", jsonPath(t, all[p2.localPort()], "hostname"), `"p2host"`)

	for _, c := range []struct {
		query, p1, p2 string
	}{
		{"&topic=pa", `[{"topic":"pa","count":2}]`, `[{"topic":"pa","count":3}]`},
		{"&topic=pb", `[{"topic":"pb","count":1}]`, "(omitted)"},
		{"&topic=pc", "(omitted)", "(omitted)"},
	} {
		got := byPort(c.query)
		if len(got) != 2 {
			t.Fatalf("%s: %d producers, want 2 (listed even when the filter hides their counts)", c.query, len(got))
		}
		if a, b := pubCounts(got[p1.localPort()]), pubCounts(got[p2.localPort()]); a != c.p1 || b != c.p2 {
			t.Errorf("%s: p1 %s p2 %s, want %s and %s", c.query, a, b, c.p1, c.p2)
		}
	}

	p2.conn.Close()
	eventually(t, func() bool { return len(byPort("")) == 1 }, "a closed publisher leaves the list")
}

func TestStatsE2E(t *testing.T) {
	opts := testOptions(t)
	opts.E2EProcessingLatencyPercentiles = []float64{1.0, 0.5}
	n := startNSQD(t, opts)
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=nochan", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=lat", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=lat&channel=d", ""))
	sub := subscribe(t, n, "lat", "c", 10)

	zero := `{"count":0,"percentiles":[{"quantile":1,"value":0},{"quantile":0.5,"value":0}]}`
	raw := statsJSON(t, n, "")
	checkJSONValue(t, "topic without channels", jsonPath(t, raw, "topics", "1", "e2e_processing_latency"), `{"count":0,"percentiles":null}`)
	checkJSONValue(t, "topic before FIN", jsonPath(t, raw, "topics", "0", "e2e_processing_latency"), zero)
	checkJSONValue(t, "channel before FIN", jsonPath(t, raw, "topics", "0", "channels", "0", "e2e_processing_latency"), zero)

	checkV1OK(t, httpCall(t, n, "POST", "/mpub?topic=lat", "1\n2\n3\n4"))
	for i := 0; i < 4; i++ {
		sub.cmd("FIN " + sub.readMsg().id)
	}
	type e2e struct {
		Count       int                `json:"count"`
		Percentiles []quant.Percentile `json:"percentiles"`
	}
	decode := func(raw json.RawMessage) e2e {
		var v e2e
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	eventually(t, func() bool {
		return decode(jsonPath(t, statsJSON(t, n, "&topic=lat&channel=c"), "topics", "0", "channels", "0", "e2e_processing_latency")).Count == 4
	}, "channel c should count 4 finished messages")

	raw = statsJSON(t, n, "&topic=lat")
	c := decode(jsonPath(t, raw, "topics", "0", "channels", "0", "e2e_processing_latency"))
	d := jsonPath(t, raw, "topics", "0", "channels", "1", "e2e_processing_latency")
	topic := decode(jsonPath(t, raw, "topics", "0", "e2e_processing_latency"))
	checkJSONValue(t, "channel d (nothing finished)", d, zero)
	for what, v := range map[string]e2e{"channel c": c, "topic": topic} {
		if v.Count != 4 || len(v.Percentiles) != 2 || v.Percentiles[0].Quantile != 1 || v.Percentiles[1].Quantile != 0.5 ||
			v.Percentiles[0].Value <= 0 || v.Percentiles[1].Value <= 0 || v.Percentiles[1].Value > v.Percentiles[0].Value {
			t.Errorf("%s e2e %+v, want count 4 and positive values for 1.0 then 0.5", what, v)
		}
	}
	checkKeyOrder(t, "percentile", jsonPath(t, raw, "topics", "0", "e2e_processing_latency", "percentiles", "0"), "quantile", "value")
	// the topic merges all its channels, even with a channel filter
	if got := decode(jsonPath(t, statsJSON(t, n, "&topic=lat&channel=d"), "topics", "0", "e2e_processing_latency")); got.Count != 4 {
		t.Errorf("topic e2e with channel filter d: count %d, want 4", got.Count)
	}

	text := httpCall(t, n, "GET", "/stats?topic=lat&include_mem=false", "").body
	e2eRe := regexp.MustCompile(`(?m)^   \[lat {12}\] .* e2e%: \d+\.\d(ns|us|ms|s), \d+\.\d(ns|us|ms|s)$`)
	if !e2eRe.MatchString(text) {
		t.Errorf("text topic line without two e2e values:\n%s", text)
	}
}

func TestStatsE2EText(t *testing.T) {
	for _, c := range []struct {
		values []float64
		want   string
	}{
		{nil, ""},
		{[]float64{0}, "0.0ns"},
		{[]float64{999}, "999.0ns"},
		{[]float64{1000}, "1000.0ns"},
		{[]float64{1001}, "1.0us"},
		{[]float64{1e6}, "1000.0us"},
		{[]float64{1500000}, "1.5ms"},
		{[]float64{1e9}, "1000.0ms"},
		{[]float64{2.25e9, 3e12}, "2.2s, 3000.0s"},
	} {
		var ps []quant.Percentile
		for _, v := range c.values {
			ps = append(ps, quant.Percentile{Quantile: 0.99, Value: v})
		}
		if got := e2eText(ps); got != c.want {
			t.Errorf("%v: %q, want %q", c.values, got, c.want)
		}
	}
}

func TestStatsPausePercentile(t *testing.T) {
	ten := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		values []uint64
		perc   float64
		want   uint64
	}{
		{nil, 99, 0},
		{[]uint64{7}, 95, 7},
		{ten, 100, 10},
		{ten, 99, 10}, // floor(9.9+0.5) = 10, capped to the last
		{ten, 95, 10},
		{ten, 94, 10}, // floor(9.4+0.5) = 9
		{ten, 50, 6},  // floor(5+0.5) = 5
		{ten, 44, 5},  // floor(4.4+0.5) = 4
	} {
		if got := pausePercentile(c.values, c.perc); got != c.want {
			t.Errorf("%v p%v = %d, want %d", c.values, c.perc, got, c.want)
		}
	}
}

func TestStatsCounters(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := dialIdentified(t, n, nil) // 60 s msg_timeout: nothing times out here
	sub.cmd("SUB cnt c")
	sub.expectOK()
	sub.cmd("RDY 2")
	checkV1OK(t, httpCall(t, n, "POST", "/mpub?topic=cnt", "aa\nbbb\nc"))
	m1, m2 := sub.readMsg(), sub.readMsg()
	sub.cmd("FIN " + m1.id)
	sub.cmd("REQ " + m2.id + " 60000")
	sub.readMsg() // the third takes the free slot
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=cnt&defer=60000", "dddd"))
	var s *TopicStats
	eventually(t, func() bool {
		s = topicStatsNamed(t, n, "cnt")
		c := s.Channels[0]
		return c.InFlightCount == 1 && c.DeferredCount == 2 && c.RequeueCount == 1
	}, "1 in flight, 2 deferred, 1 requeue")
	c := s.Channels[0]
	cl := c.Clients[0]
	if s.MessageCount != 4 || s.MessageBytes != 10 || c.MessageCount != 4 || c.Depth != 0 {
		t.Errorf("topic msgs %d bytes %d, channel msgs %d depth %d; want 4 10 4 0", s.MessageCount, s.MessageBytes, c.MessageCount, c.Depth)
	}
	if cl.MessageCount != 3 || cl.FinishCount != 1 || cl.RequeueCount != 1 || cl.InFlightCount != 1 || cl.ReadyCount != 2 || c.TimeoutCount != 0 {
		t.Errorf("client %+v (channel timeouts %d)", cl, c.TimeoutCount)
	}
	// a message in flight to a client with a 1 s msg_timeout times out
	sub.cmd("RDY 0")
	sub.cmd("PUB cnt-sync", []byte("x")) // the RDY 0 before it is applied
	sub.expectOK()
	short := dialIdentified(t, n, map[string]any{"msg_timeout": 1000})
	short.cmd("SUB cnt c")
	short.expectOK()
	short.cmd("RDY 1")
	checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=cnt", "e"))
	short.readMsg()
	eventually(t, func() bool { return channelStatsOf(t, n, "cnt", "c").TimeoutCount >= 1 }, "a timeout")
}

// padRight right-pads s with spaces to width w.
func padRight(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return s + strings.Repeat(" ", w-len(s))
}

// checkTextLines compares body's lines with want; a want entry starting
// with "~" is a regular expression for the whole line.
func checkTextLines(tb testing.TB, body string, want []string) {
	tb.Helper()
	got := strings.Split(body, "\n")
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		if strings.HasPrefix(want[i], "~") {
			ok = regexp.MustCompile("^" + want[i][1:] + "$").MatchString(got[i])
		} else {
			ok = got[i] == want[i]
		}
	}
	if !ok {
		var b strings.Builder
		for i := 0; i < len(got) || i < len(want); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			fmt.Fprintf(&b, "%2d got  %q\n   want %q\n", i, g, w)
		}
		tb.Fatalf("text stats differ:\n%s", b.String())
	}
}

func TestStatsTextEmpty(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	head := []string{
		version.String("nsqd"),
		"start_time " + n.startTime.Format(time.RFC3339),
		`~uptime [0-9.]+(ns|µs|ms|s|m[0-9.]+s)`,
		"",
		"Health: OK",
	}
	tail := []string{"", "Topics: None", "", "Producers: None", ""}
	r := httpCall(t, n, "GET", "/stats", "")
	if r.header.Get(hdrType) != ctText || r.header.Get(hdrNSQ) != nsqV1Value {
		t.Fatalf("headers %v", r.header)
	}
	var mem []string
	mem = append(mem, "", "Memory:")
	for _, k := range statsMemKeys {
		mem = append(mem, "~"+regexp.QuoteMeta("   "+padRight(k, 25)+"\t")+`\d+`)
	}
	checkTextLines(t, r.body, append(append(append([]string{}, head...), mem...), tail...))
	checkTextLines(t, httpCall(t, n, "GET", "/stats?include_mem=false", "").body, append(append([]string{}, head...), tail...))
	checkTextLines(t, httpCall(t, n, "GET", "/stats?topic=nope&include_mem=0", "").body, append(append([]string{}, head...), tail...))
}

func TestStatsText(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	// t0/c0: a subscriber (RDY 0) that has also published, so it is shown
	// as a producer even among the subscribers
	mix := dialIdentified(t, n, map[string]any{"hostname": "mhost", "user_agent": "m/1"})
	mix.cmd("SUB t0 c0")
	mix.expectOK()
	mix.pubOK("t0", "x")
	// t1/c1: one message in flight, then topic and channel paused
	sub := dialIdentified(t, n, map[string]any{"client_id": "cid", "hostname": "chost", "user_agent": "ua/1"})
	sub.cmd("SUB t1 c1")
	sub.expectOK()
	sub.cmd("RDY 1")
	prod := dialIdentified(t, n, map[string]any{"hostname": "ph", "user_agent": "py/1"})
	prod.pubOK("t1", "hello")
	sub.readMsg()
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/pause?topic=t1", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/pause?topic=t1&channel=c1", ""))
	eventually(t, func() bool {
		return channelStatsOf(t, n, "t1", "c1").InFlightCount == 1 && channelStatsOf(t, n, "t0", "c0").Depth == 1
	}, "t1/c1 one in flight, t0/c0 one queued")

	id := func(host string, c *testConn, ua string) string {
		return padRight(fmt.Sprintf("%s:%d %s", host, c.localPort(), ua), 21)
	}
	conn := ` connected: \d+s`
	head := []string{
		version.String("nsqd"),
		"start_time " + n.startTime.Format(time.RFC3339),
		`~uptime .+`,
		"",
		"Health: OK",
		"",
		"Topics:",
	}
	// the first topic follows "Topics:" directly; the others after a blank
	t0 := []string{
		"   [" + padRight("t0", 15) + "] depth: " + padRight("0", 5) + " be-depth: " + padRight("0", 5) + " msgs: " + padRight("1", 8) + " e2e%: ",
		"      [" + padRight("c0", 25) + "] depth: " + padRight("1", 5) + " be-depth: " + padRight("0", 5) + " inflt: " + padRight("0", 4) +
			" def: " + padRight("0", 4) + " re-q: " + padRight("0", 5) + " timeout: " + padRight("0", 5) + " msgs: " + padRight("1", 8) + " e2e%: ",
		"~" + regexp.QuoteMeta("        [V2 "+id("mhost", mix, "m/1")+"] msgs: "+padRight("1", 8)+" topics: t0=1") + conn,
	}
	t1 := []string{
		"",
		"*P [" + padRight("t1", 15) + "] depth: " + padRight("0", 5) + " be-depth: " + padRight("0", 5) + " msgs: " + padRight("1", 8) + " e2e%: ",
		"   *P [" + padRight("c1", 25) + "] depth: " + padRight("0", 5) + " be-depth: " + padRight("0", 5) + " inflt: " + padRight("1", 4) +
			" def: " + padRight("0", 4) + " re-q: " + padRight("0", 5) + " timeout: " + padRight("0", 5) + " msgs: " + padRight("1", 8) + " e2e%: ",
		"~" + regexp.QuoteMeta("        [V2 "+id("chost", sub, "ua/1")+"] state: 3 inflt: "+padRight("1", 4)+" rdy: "+padRight("1", 4)+
			" fin: "+padRight("0", 8)+" re-q: "+padRight("0", 8)+" msgs: "+padRight("1", 8)) + conn,
	}
	prodLine := "~" + regexp.QuoteMeta("   [V2 "+id("ph", prod, "py/1")+"] msgs: "+padRight("1", 8)+" topics: t1=1") + conn
	mixLine := "~" + regexp.QuoteMeta("   [V2 "+id("mhost", mix, "m/1")+"] msgs: "+padRight("1", 8)+" topics: t0=1") + conn
	// producers are unordered: take the order the body has
	phFirst := func(body string) bool {
		sec := body[strings.Index(body, "\nProducers:"):]
		return strings.Index(sec, "[V2 ph:") < strings.Index(sec, "[V2 mhost:")
	}
	body := httpCall(t, n, "GET", "/stats?include_mem=false", "").body
	want := append(append(append(append([]string{}, head...), t0...), t1...), "", "Producers:")
	if phFirst(body) {
		want = append(want, prodLine, mixLine, "")
	} else {
		want = append(want, mixLine, prodLine, "")
	}
	checkTextLines(t, body, want)

	// with a topic filter, a producer that did not publish there has no
	// pub_counts and is printed in the subscriber layout, as NSQ does
	body = httpCall(t, n, "GET", "/stats?topic=t1&include_mem=false", "").body
	mixAsConsumer := "~" + regexp.QuoteMeta("   [V2 "+id("mhost", mix, "m/1")+"] state: 3 inflt: "+padRight("0", 4)+" rdy: "+
		padRight("0", 4)+" fin: "+padRight("0", 8)+" re-q: "+padRight("0", 8)+" msgs: "+padRight("0", 8)) + conn
	want = append(append(append([]string{}, head...), t1[1:]...), "", "Producers:")
	if phFirst(body) {
		want = append(want, prodLine, mixAsConsumer, "")
	} else {
		want = append(want, mixAsConsumer, prodLine, "")
	}
	checkTextLines(t, body, want)
}

// The JSON /stats decodes into the exported stats types (what nsqadmin
// and nsq_stat read), with sorted names.
func TestStatsDecodes(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	publish(t, n, "b", "1", "22")
	publish(t, n, "a", "333")
	s := getStats(t, n, "")
	var names []string
	for _, tp := range s.Topics {
		names = append(names, tp.TopicName)
	}
	if !sort.StringsAreSorted(names) || len(names) != 2 || s.Topics[1].MessageBytes != 3 || s.Topics[0].MessageBytes != 3 {
		t.Fatalf("%+v", s.Topics)
	}
}
