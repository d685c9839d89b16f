package nsqadmin

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// keysCluster is a real nsqlookupd with two real nsqds (e2e percentiles
// 0.99 and 0.5): topic t1 with channels c1 and c2 on both nodes, t2 (no
// channels) on node 0 only, a subscriber on node 0's t1/c1 that finished
// one message and holds two in flight, and on the lookupd alone a topic
// "inactive" with channel "ic" and a topic "lonely".
func keysCluster(t *testing.T) *liveCluster {
	t.Helper()
	c := &liveCluster{lookupd: lookupdtest.Start(t)}
	for range 2 {
		c.nsqds = append(c.nsqds, startNSQD(t, c.lookupd.RealTCPAddr().String(), func(o *nsqd.Options) {
			o.E2EProcessingLatencyPercentiles = []float64{0.99, 0.5}
		}))
	}
	for i := range c.nsqds {
		c.createChannel(t, i, "t1", "c1")
		c.createChannel(t, i, "t1", "c2")
		c.publish(t, i, "t1", 3+i)
	}
	if s := httpJSON(t, "POST", "http://"+c.node(0)+"/topic/create?topic=t2", nil); s != 200 {
		t.Fatalf("create t2: %d", s)
	}
	c.publish(t, 0, "t2", 1)
	for _, p := range []string{"/topic/create?topic=inactive", "/channel/create?topic=inactive&channel=ic", "/topic/create?topic=lonely"} {
		if s := httpJSON(t, "POST", "http://"+c.lookupdHTTP()+p, nil); s != 200 {
			t.Fatalf("lookupd %s: %d", p, s)
		}
	}
	subscribe(t, c.nsqds[0].RealTCPAddr().String())
	testutil.Eventually(t, 10*time.Second, func() bool {
		var r struct {
			Channels  []string `json:"channels"`
			Producers []any    `json:"producers"`
		}
		return httpJSON(t, "GET", "http://"+c.lookupdHTTP()+"/lookup?topic=t1", &r) == 200 &&
			len(r.Producers) == 2 && len(r.Channels) == 2
	}, "both nsqds registered t1 with c1 and c2")
	return c
}

// subscribe connects a consumer to t1/c1 at addr that takes three
// messages and finishes the first, so the channel has e2e measurements.
func subscribe(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := []byte(`{"client_id":"cid","hostname":"chost","user_agent":"ua/1"}`)
	out := []byte("  V2IDENTIFY\n")
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = append(append(out, body...), "SUB t1 c1\nRDY 3\n"...)
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for msgs := 0; msgs < 3; {
		var size, typ int32
		if err := binary.Read(r, binary.BigEndian, &size); err != nil {
			t.Fatalf("subscriber: %v", err)
		}
		binary.Read(r, binary.BigEndian, &typ)
		data := make([]byte, size-4)
		if _, err := io.ReadFull(r, data); err != nil {
			t.Fatalf("subscriber: %v", err)
		}
		if typ == 1 {
			t.Fatalf("subscriber: %s", data)
		}
		if typ == 2 {
			if msgs == 0 {
				conn.Write([]byte("FIN " + string(data[10:26]) + "\n"))
			}
			msgs++
		}
	}
}

// shape describes a JSON document by its objects: one line per object
// path ("[]" for array elements) with its keys and their kinds, so that
// null and [] differ. Identical lines (array elements) appear once.
func shape(t *testing.T, data []byte, replace *strings.Replacer) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("not JSON: %v: %q", err, data)
	}
	lines := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			var ks []string
			for k, e := range x {
				ks = append(ks, replace.Replace(k)+":"+testutil.JSONKind(e))
				walk(path+"."+replace.Replace(k), e)
			}
			sort.Strings(ks)
			lines[orTop(path)+" {"+strings.Join(ks, " ")+"}"] = true
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	walk("", v)
	var out []string
	for l := range lines {
		out = append(out, l)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func orTop(p string) string {
	if p == "" {
		return "."
	}
	return p
}

const (
	clientKeys = "{auth_identity:string auth_identity_url:string authed:bool client_id:string connect_ts:number connected:number deflate:bool finish_count:number hostname:string in_flight_count:number message_count:number node:string ready_count:number remote_address:string requeue_count:number sample_rate:number snappy:bool tls:bool tls_cipher_suite:string tls_negotiated_protocol:string tls_negotiated_protocol_is_mutual:bool tls_version:string user_agent:string version:string}"
	e2eKeysArr = "{channel:string count:number host:string percentiles:array topic:string}"
	mergedPct  = "{average:number count:number max:number min:number quantile:number}"
	nodePct    = "{average:number count:number max:number min:number quantile:number value:number}"
	chanBase   = "backend_depth:number channel_name:string client_count:number clients:%s deferred_count:number %sdepth:number e2e_processing_latency:object %shostname:string in_flight_count:number memory_depth:number %smessage_count:number node:string nodes:%s paused:bool requeue_count:number timeout_count:number topic_name:string"
)

// chanLine is the key line of a channel object: clients and nodes kinds,
// whether it carries delivery counts (a node that delivered, or an
// aggregate of one) and whether it is a reply (with "message").
func chanLine(path, clients, nodes string, delivered, reply bool) string {
	d, g, m := "", "", ""
	if delivered {
		d, g = "delivery_msg_count:number ", "global_msg_count:number "
	}
	if reply {
		m = "message:string "
	}
	return path + " {" + fmt.Sprintf(chanBase, clients, d, g, m, nodes) + "}"
}

// TestAPIKeys pins the exact JSON keys (and null versus []) of every read
// route and of the action and error replies; they are NSQ v1.3.0's (the
// differential test in integration/refdiff compares them with NSQ's
// replies), except where docs/differences.md says otherwise.
func TestAPIKeys(t *testing.T) {
	c := keysCluster(t)
	a := startAdmin(t, c.lookupdMode)
	repl := strings.NewReplacer(c.node(0), "<node0>", c.node(1), "<node1>")
	msgOnly := ". {message:string}"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     []string
	}{
		{"topics", "GET", "/api/topics", "", 200, []string{". {message:string topics:array}"}},
		{"inactive topics", "GET", "/api/topics?inactive=true", "", 200, []string{
			". {message:string topics:object}",
			".topics {inactive:array lonely:null}"}},
		{"topic", "GET", "/api/topics/t1", "", 200, []string{
			". {backend_depth:number channels:array delivery_msg_count:number depth:number e2e_processing_latency:object hostname:string memory_depth:number message:string message_count:number node:string nodes:array paused:bool topic_name:string}",
			chanLine(".channels[]", "null", "array", false, false),
			chanLine(".channels[]", "null", "array", true, false),
			".channels[].e2e_processing_latency " + e2eKeysArr,
			".channels[].e2e_processing_latency.percentiles[] " + mergedPct,
			chanLine(".channels[].nodes[]", "null", "null", false, false),
			chanLine(".channels[].nodes[]", "null", "null", true, false),
			".channels[].nodes[].e2e_processing_latency " + e2eKeysArr,
			".channels[].nodes[].e2e_processing_latency.percentiles[] " + nodePct,
			".e2e_processing_latency " + e2eKeysArr,
			".e2e_processing_latency.percentiles[] " + mergedPct,
			".nodes[] {backend_depth:number channels:array delivery_msg_count:number depth:number e2e_processing_latency:object hostname:string memory_depth:number message_count:number node:string nodes:null paused:bool topic_name:string}",
			chanLine(".nodes[].channels[]", "null", "null", false, false),
			chanLine(".nodes[].channels[]", "null", "null", true, false),
			".nodes[].channels[].e2e_processing_latency " + e2eKeysArr,
			".nodes[].channels[].e2e_processing_latency.percentiles[] " + nodePct,
			".nodes[].e2e_processing_latency " + e2eKeysArr,
			".nodes[].e2e_processing_latency.percentiles[] " + nodePct}},
		{"channel", "GET", "/api/topics/t1/c1", "", 200, []string{
			chanLine(".", "array", "array", true, true),
			".clients[] " + clientKeys,
			".e2e_processing_latency " + e2eKeysArr,
			".e2e_processing_latency.percentiles[] " + mergedPct,
			chanLine(".nodes[]", "array", "null", false, false),
			chanLine(".nodes[]", "array", "null", true, false),
			".nodes[].clients[] " + clientKeys,
			".nodes[].e2e_processing_latency " + e2eKeysArr,
			".nodes[].e2e_processing_latency.percentiles[] " + nodePct}},
		{"nodes", "GET", "/api/nodes", "", 200, []string{
			". {message:string nodes:array}",
			".nodes[] {broadcast_address:string hostname:string http_port:number out_of_date:bool remote_address:string remote_addresses:array tcp_port:number topics:array version:string}",
			".nodes[].topics[] {tombstoned:bool topic:string}"}},
		{"node", "GET", "/api/nodes/" + c.node(0), "", 200, []string{
			". {message:string node:string topics:array total_clients:number total_messages:number}",
			".topics[] {backend_depth:number channels:array delivery_msg_count:number depth:number e2e_processing_latency:object hostname:string memory_depth:number message_count:number node:string nodes:null paused:bool topic_name:string}",
			chanLine(".topics[].channels[]", "array", "null", false, false),
			chanLine(".topics[].channels[]", "array", "null", true, false),
			".topics[].channels[].clients[] " + clientKeys,
			".topics[].channels[].e2e_processing_latency " + e2eKeysArr,
			".topics[].channels[].e2e_processing_latency.percentiles[] " + nodePct,
			".topics[].e2e_processing_latency " + e2eKeysArr,
			".topics[].e2e_processing_latency {channel:string count:number host:string percentiles:null topic:string}",
			".topics[].e2e_processing_latency.percentiles[] " + nodePct}},
		{"counter", "GET", "/api/counter", "", 200, []string{
			". {message:string stats:object}",
			".stats {t1:c1:<node0>:object t1:c1:<node1>:object t1:c2:<node0>:object t1:c2:<node1>:object}",
			".stats.t1:c1:<node0> {channel_name:string message_count:number node:string topic_name:string}",
			".stats.t1:c1:<node1> {channel_name:string message_count:number node:string topic_name:string}",
			".stats.t1:c2:<node0> {channel_name:string message_count:number node:string topic_name:string}",
			".stats.t1:c2:<node1> {channel_name:string message_count:number node:string topic_name:string}"}},
		{"unknown topic", "GET", "/api/topics/nope", "", 502, []string{msgOnly}},
		{"unknown channel", "GET", "/api/topics/t1/nope", "", 404, []string{msgOnly}},
		{"unknown node", "GET", "/api/nodes/127.0.0.1:1", "", 404, []string{msgOnly}},
		{"graphite without args", "GET", "/api/graphite", "", 400, []string{msgOnly}},
		{"create", "POST", "/api/topics", `{"topic":"t9","channel":"c9"}`, 200, []string{msgOnly}},
		{"pause", "POST", "/api/topics/t1/c2", `{"action":"pause"}`, 200, []string{msgOnly}},
		{"bad action", "POST", "/api/topics/t1/c2", `{"action":"x"}`, 400, []string{msgOnly}},
		{"delete", "DELETE", "/api/topics/t9/c9", "", 200, []string{msgOnly}},
		{"tombstone", "DELETE", "/api/nodes/" + c.node(0), `{"topic":"t2"}`, 200, []string{msgOnly}},
		{"config", "GET", "/config/nsqlookupd_http_addresses", "", 200, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = json.RawMessage(tc.body)
			}
			r := call(t, tc.method, a.url+tc.path, body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.want == nil {
				return
			}
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if got := shape(t, r.body, repl); got != strings.Join(want, "\n") {
				t.Errorf("keys:\n%s\nwant:\n%s\nbody: %s", got, strings.Join(want, "\n"), r.body)
			}
		})
	}
}

// TestAPIKeysNSQDMode pins the replies that differ in nsqd mode.
func TestAPIKeysNSQDMode(t *testing.T) {
	c := keysCluster(t)
	a := startAdmin(t, c.nsqdMode)
	for _, tc := range []struct {
		path, want string
	}{
		{"/api/topics", ". {message:string topics:array}"},
		{"/api/topics?inactive=true", ". {message:string topics:object}\n.topics {}"},
		{"/api/nodes", ". {message:string nodes:array}\n" +
			".nodes[] {broadcast_address:string hostname:string http_port:number out_of_date:bool remote_address:string remote_addresses:null tcp_port:number topics:array version:string}\n" +
			".nodes[].topics[] {tombstoned:bool topic:string}"},
	} {
		r := call(t, "GET", a.url+tc.path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
		}
		if got := shape(t, r.body, strings.NewReplacer()); got != tc.want {
			t.Errorf("%s keys:\n%s\nwant:\n%s", tc.path, got, tc.want)
		}
	}
	// in nsqd mode the inactive map is empty, not null
	if r := call(t, "GET", a.url+"/api/topics?inactive=true", nil); string(r.body) != `{"topics":{},"message":""}` {
		t.Errorf("inactive in nsqd mode: %s", r.body)
	}
}

// As in NSQ, ?inactive=true reports the failures of fetching the topic
// list (a warning, or 502 when nobody answered) and still lists topics
// whose producers could not be asked.
func TestAPIInactiveWithFailures(t *testing.T) {
	c := keysCluster(t)
	dead := testutil.FreeAddr(t)
	a := startAdmin(t, func(o *Options) { o.NSQLookupdHTTPAddresses = []string{c.lookupdHTTP(), dead} })
	r := call(t, "GET", a.url+"/api/topics?inactive=true", nil)
	topics, _ := r.json["topics"].(map[string]any)
	if r.status != 200 || !strings.HasPrefix(r.message(), "WARNING: ") || len(topics) != 2 ||
		fmt.Sprint(topics["inactive"]) != "[ic]" || topics["lonely"] != nil {
		t.Errorf("one lookupd down: %d %s", r.status, r.body)
	}
	b := startAdmin(t, func(o *Options) { o.NSQDHTTPAddresses = []string{dead} })
	r = call(t, "GET", b.url+"/api/topics?inactive=true", nil)
	if r.status != 502 || !strings.HasPrefix(r.message(), "UPSTREAM_ERROR: failed to query any nsqd: ") {
		t.Errorf("only nsqd down: %d %s", r.status, r.body)
	}
}
