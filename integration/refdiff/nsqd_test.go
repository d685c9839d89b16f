package refdiff

import (
	"encoding/binary"
	"strings"
	"testing"
)

func post(name, path, body string) req {
	return req{name: name, method: "POST", path: path, body: body}
}
func get(name, path string) req { return req{name: name, path: path} }

func binaryMPUB(bodies ...string) string {
	return string(mpubBody(bodies...))
}

// nsqdPair starts a reference and our nsqd with the same flags.
func nsqdPair(t *testing.T, args ...string) (*daemon, *daemon, *comparer) {
	ref := start(t, "ref", "nsqd", args...)
	our := start(t, "our", "nsqd", args...)
	return ref, our, newComparer([]*daemon{ref}, []*daemon{our})
}

var nsqdFlags = []string{"--max-msg-size=100", "--max-body-size=400", "--max-req-timeout=10s",
	"--e2e-processing-latency-percentile=0.99,0.5", "--log-level=error"}

func TestNSQDHTTP(t *testing.T) {
	ref, our, c := nsqdPair(t, nsqdFlags...)
	big := strings.Repeat("x", 101)
	reqs := []req{
		get("ping", "/ping"),
		{name: "HEAD ping", method: "HEAD", path: "/ping"},
		get("info", "/info"),
		get("unknown path", "/nope"),
		get("legacy /put", "/put?topic=a"),
		post("POST ping", "/ping", ""),
		{name: "OPTIONS pub", method: "OPTIONS", path: "/pub"},
		{name: "OPTIONS stats", method: "OPTIONS", path: "/stats"},
		get("GET pub", "/pub?topic=a"),
		get("GET topic/create", "/topic/create?topic=a"),
		{name: "DELETE info", method: "DELETE", path: "/info"},
		{name: "stats text empty", path: "/stats", text: true},
		get("stats json empty", "/stats?format=json"),
		get("stats json unknown topic", "/stats?format=json&topic=nope"),
		get("stats json unknown channel", "/stats?format=json&channel=nope"),
		get("stats bad query", "/stats?format=json&topic=%zz"),

		post("pub no topic", "/pub", "m"),
		post("pub bad topic", "/pub?topic=bad!", "m"),
		post("pub empty body", "/pub?topic=t1", ""),
		post("pub too big", "/pub?topic=t1", big),
		post("pub bad query", "/pub?topic=%zz", "m"),
		post("pub ok", "/pub?topic=t1", "hello"),
		post("pub max size", "/pub?topic=t1", strings.Repeat("y", 100)),
		post("pub defer abc", "/pub?topic=t1&defer=abc", "m"),
		post("pub defer negative", "/pub?topic=t1&defer=-1", "m"),
		post("pub defer too big", "/pub?topic=t1&defer=10001", "m"),
		post("pub defer ok", "/pub?topic=t1&defer=10000", "m"),
		post("mpub text", "/mpub?topic=t2", "a\nb\n\nc\n"),
		post("mpub text empty", "/mpub?topic=t2", "\n\n"),
		post("mpub text line too big", "/mpub?topic=t2", "a\n"+big+"\n"),
		post("mpub body too big", "/mpub?topic=t2", strings.Repeat("z\n", 201)),
		post("mpub no topic", "/mpub", "a"),
		post("mpub bad topic", "/mpub?topic=b@d", "a"),
		post("mpub binary ok", "/mpub?topic=t2&binary=true", binaryMPUB("x", "yy")),
		post("mpub binary=1", "/mpub?topic=t2&binary=1", binaryMPUB("x")),
		post("mpub binary=yes", "/mpub?topic=t2&binary=yes", binaryMPUB("x")),
		post("mpub binary count 0", "/mpub?topic=t2&binary=true", binaryMPUB()),
		post("mpub binary empty message", "/mpub?topic=t2&binary=true", binaryMPUB("")),
		post("mpub binary truncated", "/mpub?topic=t2&binary=true", binaryMPUB("abc")[:8]),
		post("mpub binary message too big", "/mpub?topic=t2&binary=true", binaryMPUB(big)),
		post("mpub binary no count", "/mpub?topic=t2&binary=true", "ab"),
		post("mpub binary huge count", "/mpub?topic=t2&binary=true", string(binary.BigEndian.AppendUint32(nil, 1000))),

		post("topic/create no topic", "/topic/create", ""),
		post("topic/create bad", "/topic/create?topic=a$", ""),
		post("topic/create ok", "/topic/create?topic=t3", ""),
		post("topic/create again", "/topic/create?topic=t3", ""),
		post("topic/create bad query", "/topic/create?topic=%zz", ""),
		post("topic/pause missing", "/topic/pause?topic=nope", ""),
		post("topic/pause bad name", "/topic/pause?topic=a$", ""),
		post("topic/pause no topic", "/topic/pause", ""),
		post("topic/pause ok", "/topic/pause?topic=t3", ""),
		post("topic/pause again", "/topic/pause?topic=t3", ""),
		post("topic/unpause missing", "/topic/unpause?topic=nope", ""),
		post("topic/empty missing", "/topic/empty?topic=nope", ""),
		post("topic/empty bad", "/topic/empty?topic=a$", ""),
		post("topic/empty no topic", "/topic/empty", ""),
		post("topic/empty ok", "/topic/empty?topic=t1", ""),
		post("topic/delete missing", "/topic/delete?topic=nope", ""),
		post("topic/delete bad name", "/topic/delete?topic=a$", ""),
		post("topic/delete no topic", "/topic/delete", ""),

		post("channel/create no topic", "/channel/create", ""),
		post("channel/create no channel", "/channel/create?topic=t3", ""),
		post("channel/create bad topic", "/channel/create?topic=a$&channel=c", ""),
		post("channel/create bad channel", "/channel/create?topic=t3&channel=c$", ""),
		post("channel/create topic missing", "/channel/create?topic=nope&channel=c", ""),
		post("channel/create ok", "/channel/create?topic=t3&channel=c1", ""),
		post("channel/create ok 2", "/channel/create?topic=t1&channel=c1", ""),
		post("channel/create ephemeral", "/channel/create?topic=t3&channel=c2%23ephemeral", ""),
		post("channel/pause missing channel", "/channel/pause?topic=t3&channel=nope", ""),
		post("channel/pause missing topic", "/channel/pause?topic=nope&channel=c1", ""),
		post("channel/pause ok", "/channel/pause?topic=t3&channel=c1", ""),
		post("channel/unpause missing", "/channel/unpause?topic=t3&channel=nope", ""),
		post("channel/empty missing", "/channel/empty?topic=t3&channel=nope", ""),
		post("channel/empty ok", "/channel/empty?topic=t3&channel=c1", ""),
		post("channel/delete missing", "/channel/delete?topic=t3&channel=nope", ""),
		post("channel/delete bad", "/channel/delete?topic=t3&channel=c$", ""),
		post("channel/delete no channel", "/channel/delete?topic=t3", ""),
		post("channel/delete ok", "/channel/delete?topic=t3&channel=c2%23ephemeral", ""),

		{name: "stats text", path: "/stats", text: true},
		get("stats json", "/stats?format=json"),
		get("stats json topic", "/stats?format=json&topic=t3"),
		get("stats json channel", "/stats?format=json&channel=c1"),
		get("stats json topic+channel miss", "/stats?format=json&topic=t2&channel=c1"),
		get("stats json no clients", "/stats?format=json&include_clients=false"),
		get("stats json no mem", "/stats?format=json&include_mem=false"),
		get("stats json include_clients=0", "/stats?format=json&include_clients=0"),
		get("stats json include_clients=bogus", "/stats?format=json&include_clients=bogus"),
		{name: "stats format=JSON", path: "/stats?format=JSON", text: true},
		{name: "stats text no mem", path: "/stats?include_mem=false", text: true},
		{name: "stats text topic", path: "/stats?topic=t3", text: true},

		get("config msg_timeout", "/config/msg_timeout"),
		get("config log_level", "/config/log_level"),
		get("config nsqlookupd_tcp_addresses", "/config/nsqlookupd_tcp_addresses"),
		get("config tls_min_version", "/config/tls_min_version"),
		get("config tls_required", "/config/tls_required"),
		get("config statsd_prefix", "/config/statsd_prefix"),
		get("config e2e percentiles", "/config/e2e_processing_latency_percentiles"),
		get("config id", "/config/id"),
		get("config node_id", "/config/node_id"),
		get("config unknown", "/config/nope"),
		get("config no opt", "/config/"),
		{name: "PUT config log_level", method: "PUT", path: "/config/log_level", body: "warn"},
		{name: "PUT config log_level bad", method: "PUT", path: "/config/log_level", body: "loud"},
		{name: "PUT config log_level empty", method: "PUT", path: "/config/log_level"},
		{name: "PUT config lookupd", method: "PUT", path: "/config/nsqlookupd_tcp_addresses", body: `[]`},
		{name: "PUT config lookupd bad", method: "PUT", path: "/config/nsqlookupd_tcp_addresses", body: `x`},
		{name: "PUT config msg_timeout", method: "PUT", path: "/config/msg_timeout", body: `1`},
		{name: "PUT config too big", method: "PUT", path: "/config/log_level", body: big},
		post("POST config", "/config/log_level", "warn"),

		get("pprof no slash", "/debug/pprof"),
		{name: "pprof index", path: "/debug/pprof/", ignoreBody: true},
		{name: "pprof cmdline", path: "/debug/pprof/cmdline", ignoreBody: true},
		get("pprof unknown", "/debug/pprof/nope"),
		{name: "pprof heap", path: "/debug/pprof/heap", ignoreBody: true},
		{name: "pprof goroutine", path: "/debug/pprof/goroutine?debug=1", ignoreBody: true},
		{name: "pprof block", path: "/debug/pprof/block", ignoreBody: true},
		{name: "pprof threadcreate", path: "/debug/pprof/threadcreate", ignoreBody: true},
		{name: "pprof symbol", path: "/debug/pprof/symbol", ignoreBody: true},
		{name: "POST pprof symbol", method: "POST", path: "/debug/pprof/symbol", body: "0x1", ignoreBody: true},
		{name: "pprof mutex", path: "/debug/pprof/mutex", ignoreBody: true},
		{name: "pprof allocs", path: "/debug/pprof/allocs", ignoreBody: true},
		{name: "pprof trace", path: "/debug/pprof/trace?seconds=0", ignoreBody: true},
		{name: "setblockrate bad", method: "PUT", path: "/debug/setblockrate?rate=x"},
		{name: "setblockrate ok", method: "PUT", path: "/debug/setblockrate?rate=0"},
		post("freememory", "/debug/freememory", ""),
		get("GET freememory", "/debug/freememory"),
		get("metrics", "/metrics"),

		post("topic/unpause ok", "/topic/unpause?topic=t3", ""),
		post("channel/unpause ok", "/channel/unpause?topic=t3&channel=c1", ""),
		post("topic/delete ok", "/topic/delete?topic=t3", ""),
		get("stats json after delete", "/stats?format=json"),
	}
	httpPair(t, c, ref.http, our.http, reqs)
}

// TestNSQDStatsClients compares /stats with a subscriber holding messages
// in flight and a publisher connection.
func TestNSQDStatsClients(t *testing.T) {
	ref, our, c := nsqdPair(t, nsqdFlags...)
	for _, d := range []*daemon{ref, our} {
		mustPost(t, d.http, "/topic/create?topic=t1")
		mustPost(t, d.http, "/channel/create?topic=t1&channel=c1")
		for range 3 {
			mustPost(t, d.http, "/pub?topic=t1", "msg")
		}
		sub := dialRaw(t, d.tcp, "  V2", true)
		sub.send(t, identify(`{"client_id":"cid","hostname":"chost","user_agent":"ua/1","feature_negotiation":true,"sample_rate":0}`).data)
		sub.send(t, line("SUB t1 c1").data)
		sub.send(t, line("RDY 2").data)
		sub.awaitMessage(t)
		sub.send(t, line("FIN "+string(sub.lastID)).data)
		sub.awaitMessage(t)
		sub.awaitMessage(t)
		pub := dialRaw(t, d.tcp, "  V2", true)
		pub.send(t, identify(`{"client_id":"pid","hostname":"phost","user_agent":"pub/1"}`).data)
		pub.send(t, withBody("PUB t2", []byte("x")).data)
		for range 2 {
			if f, ok := pub.readFrame(t); !ok || string(f.data) != "OK" {
				t.Fatalf("publisher: %v %v", f, ok)
			}
		}
	}
	c.volatile["value"] = true // e2e percentiles are real latencies
	httpPair(t, c, ref.http, our.http, []req{
		get("stats json", "/stats?format=json"),
		get("stats json topic", "/stats?format=json&topic=t1"),
		get("stats json topic t2", "/stats?format=json&topic=t2"),
		get("stats json no clients", "/stats?format=json&include_clients=false"),
		{name: "stats text", path: "/stats", text: true},
		{name: "stats text no clients", path: "/stats?include_clients=false", text: true},
	})
}
