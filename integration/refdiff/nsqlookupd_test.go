package refdiff

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// lookupdPair starts a reference and our nsqlookupd, each with one
// reference nsqd registered (the same nsqd binary on both sides, so only
// the lookupd differs).
func lookupdPair(t *testing.T) (*daemon, *daemon, *comparer) {
	ref := start(t, "ref", "nsqlookupd", "--log-level=error")
	our := start(t, "our", "nsqlookupd", "--log-level=error")
	refNSQD := start(t, "ref", "nsqd", "--lookupd-tcp-address="+ref.tcp, "--log-level=error")
	ourNSQD := start(t, "ref", "nsqd", "--lookupd-tcp-address="+our.tcp, "--log-level=error")
	for _, d := range []*daemon{refNSQD, ourNSQD} {
		mustPost(t, d.http, "/topic/create?topic=t1")
		mustPost(t, d.http, "/channel/create?topic=t1&channel=c1")
		mustPost(t, d.http, "/topic/create?topic=t2")
		mustPost(t, d.http, "/topic/create?topic=e%23ephemeral")
	}
	for _, l := range []*daemon{ref, our} {
		testutil.Eventually(t, 15*time.Second, func() bool {
			var body struct {
				Channels  []string `json:"channels"`
				Producers []any    `json:"producers"`
			}
			getJSON(t, l.http, "/lookup?topic=t1", &body)
			var e struct{ Producers []any }
			getJSON(t, l.http, "/lookup?topic=e%23ephemeral", &e)
			return len(body.Producers) == 1 && len(body.Channels) == 1 && len(e.Producers) == 1
		}, "nsqd registered with %s lookupd", l.side)
	}
	return ref, our, newComparer([]*daemon{ref, refNSQD}, []*daemon{our, ourNSQD})
}

func TestNSQLookupdHTTP(t *testing.T) {
	ref, our, c := lookupdPair(t)
	reqs := []req{
		get("ping", "/ping"),
		{name: "HEAD ping", method: "HEAD", path: "/ping"},
		get("info", "/info"),
		get("unknown", "/nope"),
		post("POST ping", "/ping", ""),
		{name: "OPTIONS lookup", method: "OPTIONS", path: "/lookup"},
		{name: "OPTIONS topic/create", method: "OPTIONS", path: "/topic/create"},
		get("topics", "/topics"),
		get("channels", "/channels?topic=t1"),
		get("channels unknown", "/channels?topic=nope"),
		get("channels no topic", "/channels"),
		get("channels bad query", "/channels?topic=%zz"),
		get("lookup", "/lookup?topic=t1"),
		get("lookup no channels", "/lookup?topic=t2"),
		get("lookup unknown", "/lookup?topic=nope"),
		get("lookup no topic", "/lookup"),
		get("lookup bad name", "/lookup?topic=a$"),
		get("nodes", "/nodes"),
		{name: "debug", path: "/debug"},
		get("GET topic/create", "/topic/create?topic=x"),
		post("topic/create", "/topic/create?topic=x1", ""),
		post("topic/create no topic", "/topic/create", ""),
		post("topic/create bad", "/topic/create?topic=a$", ""),
		get("lookup created", "/lookup?topic=x1"),
		post("channel/create", "/channel/create?topic=x1&channel=xc", ""),
		post("channel/create new topic", "/channel/create?topic=x2&channel=xc", ""),
		post("channel/create no topic", "/channel/create?channel=xc", ""),
		post("channel/create no channel", "/channel/create?topic=x1", ""),
		post("channel/create bad topic", "/channel/create?topic=a$&channel=c", ""),
		post("channel/create bad channel", "/channel/create?topic=x1&channel=c$", ""),
		get("channels created", "/channels?topic=x1"),
		get("topics created", "/topics"),
		post("channel/delete", "/channel/delete?topic=x1&channel=xc", ""),
		post("channel/delete missing", "/channel/delete?topic=x1&channel=xc", ""),
		post("channel/delete no channel", "/channel/delete?topic=x1", ""),
		post("channel/delete bad", "/channel/delete?topic=x1&channel=c$", ""),
		post("channel/delete unknown topic", "/channel/delete?topic=zz&channel=c", ""),
		post("topic/delete", "/topic/delete?topic=x2", ""),
		post("topic/delete missing", "/topic/delete?topic=x2", ""),
		post("topic/delete no topic", "/topic/delete", ""),
		post("topic/delete bad", "/topic/delete?topic=a$", ""),
		post("tombstone no topic", "/topic/tombstone?node=x", ""),
		post("tombstone no node", "/topic/tombstone?topic=t2", ""),
		post("tombstone nothing", "/topic/tombstone?topic=t2&node=nope:1", ""),
		post("tombstone bad topic", "/topic/tombstone?topic=a$&node=nope:1", ""),
		post("tombstone", "/topic/tombstone?topic=t2&node=127.0.0.1:<nsqdb-http>port", ""),
		get("lookup tombstoned", "/lookup?topic=t2"),
		get("nodes tombstoned", "/nodes"),
		{name: "pprof", path: "/debug/pprof", ignoreBody: true},
		{name: "pprof slash", path: "/debug/pprof/", ignoreBody: true},
		{name: "pprof cmdline", path: "/debug/pprof/cmdline", ignoreBody: true},
		{name: "pprof heap", path: "/debug/pprof/heap", ignoreBody: true},
		{name: "pprof goroutine", path: "/debug/pprof/goroutine?debug=1", ignoreBody: true},
		{name: "pprof block", path: "/debug/pprof/block", ignoreBody: true},
		{name: "pprof threadcreate", path: "/debug/pprof/threadcreate", ignoreBody: true},
		{name: "pprof symbol", path: "/debug/pprof/symbol", ignoreBody: true},
		{name: "POST pprof symbol", method: "POST", path: "/debug/pprof/symbol", body: "0x1", ignoreBody: true},
		{name: "pprof mutex", path: "/debug/pprof/mutex", ignoreBody: true},
		{name: "pprof allocs", path: "/debug/pprof/allocs", ignoreBody: true},
		{name: "pprof trace", path: "/debug/pprof/trace?seconds=0", ignoreBody: true},
		get("config", "/config/log_level"),
		get("metrics", "/metrics"),
	}
	httpPair(t, c, ref.http, our.http, reqs)
}

func TestNSQLookupdTCP(t *testing.T) {
	ref := start(t, "ref", "nsqlookupd", "--log-level=error")
	our := start(t, "our", "nsqlookupd", "--log-level=error")
	c := newComparer([]*daemon{ref}, []*daemon{our})
	peer := identify(`{"broadcast_address":"127.0.0.1","tcp_port":1,"http_port":2,"version":"1.3.0","hostname":"h"}`)
	tcpPair(t, c, ref.tcp, our.tcp, "  V1", false, []tcpCase{
		{"PING", []step{line("PING")}},
		{"empty line", []step{line("")}},
		{"lower case", []step{line("ping")}},
		{"unknown", []step{line("FOO")}},
		{"spaces and CR", []step{line("  PING \r")}},
		{"REGISTER before IDENTIFY", []step{line("REGISTER t")}},
		{"UNREGISTER before IDENTIFY", []step{line("UNREGISTER t")}},
		{"IDENTIFY", []step{peer}},
		{"IDENTIFY twice", []step{peer, peer}},
		{"IDENTIFY missing fields", []step{identify(`{"broadcast_address":"x"}`)}},
		{"IDENTIFY bad json", []step{identify(`{`)}},
		{"IDENTIFY truncated size", []step{raw([]byte("IDENTIFY\n\x00"))}},
		{"IDENTIFY truncated body", []step{raw(append(binary.BigEndian.AppendUint32([]byte("IDENTIFY\n"), 10), '{'))}},
		{"REGISTER no topic", []step{peer, line("REGISTER")}},
		{"REGISTER bad topic", []step{peer, line("REGISTER a$")}},
		{"REGISTER bad channel", []step{peer, line("REGISTER t c$")}},
		{"REGISTER ok", []step{peer, line("REGISTER t"), line("REGISTER t c"), line("PING")}},
		{"UNREGISTER no topic", []step{peer, line("UNREGISTER")}},
		{"UNREGISTER bad topic", []step{peer, line("UNREGISTER a$")}},
		{"UNREGISTER bad channel", []step{peer, line("UNREGISTER t c$")}},
		{"UNREGISTER ok", []step{peer, line("UNREGISTER t c"), line("UNREGISTER t"), line("UNREGISTER nope")}},
	})
	tcpPair(t, c, ref.tcp, our.tcp, "", false, []tcpCase{
		{"bad magic", []step{raw([]byte("  V2"))}},
	})
}
