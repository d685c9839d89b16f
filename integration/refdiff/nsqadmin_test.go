package refdiff

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// refCluster is a reference nsqlookupd with two reference nsqds registered,
// carrying topic t1 (channels c1, c2) on both nodes and t2 on the first,
// with a subscriber on t1/c1 of node a holding messages in flight and
// end-to-end latency recorded.
type refCluster struct {
	lookupd *daemon
	nsqd    []*daemon
}

func startRefCluster(t *testing.T) *refCluster {
	t.Helper()
	lookupd := start(t, "ref", "nsqlookupd", "--log-level=error")
	cl := &refCluster{lookupd: lookupd}
	for i := range 2 {
		args := []string{"--lookupd-tcp-address=" + lookupd.tcp, "--e2e-processing-latency-percentile=0.99,0.5", "--log-level=error"}
		if i == 0 { // node a has a topology, so the topology_* keys show
			args = append(args, "--topology-region=eu", "--topology-zone=eu-1")
		}
		cl.nsqd = append(cl.nsqd, start(t, "ref", "nsqd", args...))
	}
	for i, d := range cl.nsqd {
		mustPost(t, d.http, "/topic/create?topic=t1")
		mustPost(t, d.http, "/channel/create?topic=t1&channel=c1")
		mustPost(t, d.http, "/channel/create?topic=t1&channel=c2")
		for range 3 + i {
			mustPost(t, d.http, "/pub?topic=t1", "msg")
		}
	}
	mustPost(t, cl.nsqd[0].http, "/topic/create?topic=t2")
	mustPost(t, cl.nsqd[0].http, "/pub?topic=t2", "m2")
	mustPost(t, lookupd.http, "/topic/create?topic=inactive")
	mustPost(t, lookupd.http, "/channel/create?topic=inactive&channel=ic")
	mustPost(t, lookupd.http, "/topic/create?topic=lonely")

	sub := dialRaw(t, cl.nsqd[0].tcp, "  V2", true)
	sub.send(t, withBody("IDENTIFY", []byte(`{"client_id":"cid","hostname":"chost","user_agent":"ua/1","feature_negotiation":true,"topology_region":"eu","topology_zone":"eu-2"}`)).data)
	sub.send(t, line("SUB t1 c1").data)
	sub.send(t, line("RDY 2").data)
	sub.awaitMessage(t)
	sub.send(t, line("FIN "+string(sub.lastID)).data)
	sub.awaitMessage(t)
	sub.awaitMessage(t)

	testutil.Eventually(t, 15*time.Second, func() bool {
		var body struct {
			Channels  []string `json:"channels"`
			Producers []any    `json:"producers"`
		}
		getJSON(t, lookupd.http, "/lookup?topic=t1", &body)
		return len(body.Producers) == 2 && len(body.Channels) == 2
	}, "both nsqds registered with t1/c1,c2")
	return cl
}

func mustPost(t *testing.T, addr, path string, body ...string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+path, "", strings.NewReader(strings.Join(body, "")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

func getJSON(t *testing.T, addr, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
}

func adminPair(t *testing.T, args ...string) (*daemon, *daemon, *comparer) {
	ref := start(t, "ref", "nsqadmin", args...)
	our := start(t, "our", "nsqadmin", args...)
	c := newComparer([]*daemon{ref}, []*daemon{our})
	// deliberate: our upstream errors name the request ("GET <url>: ..."),
	// NSQ's do not, or in Go's own words (`Get "<url>": ...`)
	c.message = regexp.MustCompile(`(GET|POST) http://\S+: |(Get|Post) "http://[^"]+": `)
	// deliberate: NSQ's merged e2e "min" is the last-merged node's max
	// (which node answers last varies); ours is the least of the nodes
	// that measured something
	c.volatile["min"] = true
	return ref, our, c
}

// The deliberate differences of nsqadmin (docs/differences.md).
func init() {
	for _, test := range []string{"TestNSQAdminLookupdMode", "TestNSQAdminNSQDMode"} {
		allowedDiffs[test+"/api channel unknown"] = "NSQ fails with 500 INTERNAL_ERROR; ours is 404 CHANNEL_NOT_FOUND"
	}
	allowedDiffs["TestNSQAdminLookupdMode/tombstone unknown node"] = "ours tombstones only nodes the cluster reports (404 NODE_NOT_FOUND); NSQ calls any address"
	// NSQ's topic aggregate adopts the first node's channel objects and
	// adds the others into them: its channels[i] are that node's objects
	// (its node, hostname and e2e fields, only the other nodes under
	// nodes), and that node's own entry under nodes[] shows the sums. The
	// channel objects themselves are compared by /api/topics/:t/:c.
	allowPattern("TestNSQAdmin", `^api topic( single node| gzip| paused)?: (channels|nodes\[\d+\]\.channels)\[\d+\]`,
		"NSQ's topic aggregate aliases the first node's channel objects")
}

func readRoutes(node string) []req {
	return []req{
		get("ping", "/ping"),
		{name: "HEAD ping", method: "HEAD", path: "/ping"},
		{name: "index", path: "/", ignoreBody: true},
		{name: "topics page", path: "/topics", ignoreBody: true},
		{name: "topic page", path: "/topics/t1", ignoreBody: true},
		{name: "channel page", path: "/topics/t1/c1", ignoreBody: true},
		{name: "nodes page", path: "/nodes", ignoreBody: true},
		{name: "node page", path: "/nodes/" + node, ignoreBody: true},
		{name: "counter page", path: "/counter", ignoreBody: true},
		{name: "lookup page", path: "/lookup", ignoreBody: true},
		{name: "index gzip", path: "/", ignoreBody: true, header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "static js", path: "/static/main.js", ourPath: "/static/app.js", ignoreBody: true},
		{name: "static css", path: "/static/base.css", ourPath: "/static/style.css", ignoreBody: true},
		{name: "static js gzip", path: "/static/main.js", ourPath: "/static/app.js", ignoreBody: true,
			header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "HEAD index", method: "HEAD", path: "/"},
		{name: "POST index", method: "POST", path: "/"},
		{name: "HEAD api topics", method: "HEAD", path: "/api/topics"},
		{name: "api topics gzip and deflate", path: "/api/topics", header: map[string]string{"Accept-Encoding": "deflate, gzip"}},
		{name: "ping gzip", path: "/ping", header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "404 gzip", path: "/nope", header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "static missing gzip", path: "/static/nope.js", header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "405 gzip", method: "PUT", path: "/api/topics", header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "api topics gzip q", path: "/api/topics", header: map[string]string{"Accept-Encoding": "gzip;q=1.0, deflate"}},
		{name: "api topics identity", path: "/api/topics", header: map[string]string{"Accept-Encoding": "identity"}},
		{name: "api topic gzip", path: "/api/topics/t1", header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "api topic 502 gzip", path: "/api/topics/nope", header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "OPTIONS gzip", method: "OPTIONS", path: "/api/topics", header: map[string]string{"Accept-Encoding": "gzip"}},
		get("static missing", "/static/nope.js"),
		get("fonts missing", "/fonts/nope.woff"),
		get("unknown page", "/nope"),
		get("unknown api", "/api/nope"),
		get("api topics", "/api/topics"),
		{name: "api topics gzip", path: "/api/topics", header: map[string]string{"Accept-Encoding": "gzip"}},
		{name: "api topics deflate", path: "/api/topics", header: map[string]string{"Accept-Encoding": "deflate"}, ignoreBody: true},
		get("api topics inactive", "/api/topics?inactive=true"),
		get("api topic", "/api/topics/t1"),
		get("api topic single node", "/api/topics/t2"),
		get("api topic unknown", "/api/topics/nope"),
		get("api topic no producers", "/api/topics/lonely"),
		get("api channel", "/api/topics/t1/c1"),
		get("api channel idle", "/api/topics/t1/c2"),
		get("api channel unknown", "/api/topics/t1/nope"),
		get("api channel unknown topic", "/api/topics/nope/c1"),
		get("api nodes", "/api/nodes"),
		get("api node", "/api/nodes/"+node),
		get("api node unknown", "/api/nodes/127.0.0.1:1"),
		get("api counter", "/api/counter"),
		get("api graphite no args", "/api/graphite"),
		get("api graphite bad metric", "/api/graphite?metric=x&target=y"),
		get("api graphite no target", "/api/graphite?metric=rate"),
		get("render without proxy", "/render"),
		get("config log_level", "/config/log_level"),
		get("config lookupd", "/config/nsqlookupd_http_addresses"),
		get("config nsqd", "/config/nsqd_http_addresses"),
		get("config unknown", "/config/nope"),
		{name: "PUT api topics", method: "PUT", path: "/api/topics"},
		{name: "OPTIONS api topics", method: "OPTIONS", path: "/api/topics"},
		{name: "POST ping", method: "POST", path: "/ping"},
		{name: "accept header", path: "/api/topics", header: map[string]string{"Accept": "application/vnd.nsq; version=1.0"}},
	}
}

func TestNSQAdminLookupdMode(t *testing.T) {
	cl := startRefCluster(t)
	ref, our, c := adminPair(t, "--lookupd-http-address="+cl.lookupd.http, "--log-level=error")
	node := cl.nsqd[0].http
	for _, topic := range []string{"t3", "t4", "t5", "t6"} {
		mustPost(t, node, "/topic/create?topic="+topic)
	}
	testutil.Eventually(t, 15*time.Second, func() bool {
		var body struct{ Topics []string }
		getJSON(t, cl.lookupd.http, "/topics", &body)
		return len(body.Topics) >= 7
	}, "t3..t6 registered")
	reqs := readRoutes(node)
	reqs = append(reqs,
		req{name: "create bad json", method: "POST", path: "/api/topics", body: `{`},
		req{name: "create bad topic", method: "POST", path: "/api/topics", body: `{"topic":"a$"}`},
		req{name: "create bad channel", method: "POST", path: "/api/topics", body: `{"topic":"t9","channel":"c$"}`},
		req{name: "create no topic", method: "POST", path: "/api/topics", body: `{}`},
		req{name: "create topic", method: "POST", path: "/api/topics", body: `{"topic":"t9"}`},
		req{name: "create channel", method: "POST", path: "/api/topics", body: `{"topic":"t1","channel":"c3"}`},
		req{name: "topic bad action", method: "POST", path: "/api/topics/t1", body: `{"action":"nope"}`},
		req{name: "topic bad json", method: "POST", path: "/api/topics/t1", body: `x`},
		req{name: "topic no body", method: "POST", path: "/api/topics/t1"},
		req{name: "topic pause", method: "POST", path: "/api/topics/t1", body: `{"action":"pause"}`},
		req{name: "api topic paused", path: "/api/topics/t1"},
		req{name: "api nodes paused", path: "/api/nodes"},
		req{name: "topic unpause", method: "POST", path: "/api/topics/t1", body: `{"action":"unpause"}`},
		req{name: "topic pause unknown", method: "POST", path: "/api/topics/nope", body: `{"action":"pause"}`},
		req{name: "channel pause", method: "POST", path: "/api/topics/t1/c2", body: `{"action":"pause"}`},
		req{name: "api channel paused", path: "/api/topics/t1/c2"},
		req{name: "channel unpause", method: "POST", path: "/api/topics/t1/c2", body: `{"action":"unpause"}`},
		req{name: "channel empty", method: "POST", path: "/api/topics/t1/c2", body: `{"action":"empty"}`},
		req{name: "channel bad action", method: "POST", path: "/api/topics/t1/c2", body: `{"action":"x"}`},
		req{name: "channel action unknown", method: "POST", path: "/api/topics/t1/nope", body: `{"action":"pause"}`},
		req{name: "topic empty", method: "POST", path: "/api/topics/t2", body: `{"action":"empty"}`},
		req{name: "delete channel unknown", method: "DELETE", path: "/api/topics/t1/nope"},
		req{name: "create channel c4", method: "POST", path: "/api/topics", body: `{"topic":"t1","channel":"c4"}`},
		req{name: "delete channel", method: "DELETE", path: "/api/topics/t1/c3", ourPath: "/api/topics/t1/c4"},
		req{name: "delete topic unknown", method: "DELETE", path: "/api/topics/nope"},
		req{name: "tombstone bad body", method: "DELETE", path: "/api/nodes/" + node, body: `x`},
		req{name: "tombstone bad topic", method: "DELETE", path: "/api/nodes/" + node, body: `{"topic":"a$"}`},
		req{name: "tombstone unknown node", method: "DELETE", path: "/api/nodes/127.0.0.1:1", body: `{"topic":"t2"}`},
		req{name: "tombstone", method: "DELETE", path: "/api/nodes/" + node, body: `{"topic":"t3"}`, ourBody: `{"topic":"t4"}`},
	)
	httpPair(t, c, ref.http, our.http, reqs)
	// the channel creates and deletes above reach lookupd through nsqd's
	// REGISTER/UNREGISTER, after their answers: both sides must read the
	// node list once lookupd has settled, not one before and one after
	waitLookupdSettled(t, cl.lookupd.http)
	reqs = []req{
		{name: "nodes after tombstone", path: "/api/nodes"},
	}
	reqs = append(reqs,
		req{name: "delete topic", method: "DELETE", path: "/api/topics/t5", ourPath: "/api/topics/t6"},
		req{name: "PUT config log_level", method: "PUT", path: "/config/log_level", body: "warn"},
		req{name: "PUT config bad", method: "PUT", path: "/config/log_level", body: "loud"},
		req{name: "PUT config empty", method: "PUT", path: "/config/log_level"},
		req{name: "PUT config other", method: "PUT", path: "/config/base_path", body: "/x"},
	)
	httpPair(t, c, ref.http, our.http, reqs)
}

// waitLookupdSettled waits until lookupd's /debug dump (every registration)
// reads the same twice in a row, 300 ms apart.
func waitLookupdSettled(t *testing.T, addr string) {
	t.Helper()
	dump := func() string {
		resp, err := http.Get("http://" + addr + "/debug")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	prev := dump()
	testutil.Eventually(t, 15*time.Second, func() bool {
		time.Sleep(300 * time.Millisecond)
		cur := dump()
		same := cur == prev
		prev = cur
		return same
	}, "lookupd registrations settled")
}

func TestNSQAdminNSQDMode(t *testing.T) {
	cl := startRefCluster(t)
	ref, our, c := adminPair(t, "--nsqd-http-address="+cl.nsqd[0].http, "--nsqd-http-address="+cl.nsqd[1].http, "--log-level=error")
	reqs := readRoutes(cl.nsqd[0].http)
	reqs = append(reqs,
		req{name: "create topic+channel nsqd mode", method: "POST", path: "/api/topics", body: `{"topic":"t9","channel":"c"}`},
		req{name: "create topic nsqd mode", method: "POST", path: "/api/topics", body: `{"topic":"t9"}`},
		req{name: "create bad topic nsqd mode", method: "POST", path: "/api/topics", body: `{"topic":"a$"}`},
		req{name: "pause topic nsqd mode", method: "POST", path: "/api/topics/t1", body: `{"action":"pause"}`},
		req{name: "unpause topic nsqd mode", method: "POST", path: "/api/topics/t1", body: `{"action":"unpause"}`},
		req{name: "pause unknown topic nsqd mode", method: "POST", path: "/api/topics/nope", body: `{"action":"pause"}`},
		req{name: "pause unknown channel nsqd mode", method: "POST", path: "/api/topics/t1/nope", body: `{"action":"pause"}`},
		req{name: "delete unknown topic nsqd mode", method: "DELETE", path: "/api/topics/nope"},
		req{name: "delete unknown channel nsqd mode", method: "DELETE", path: "/api/topics/t1/nope"},
		req{name: "delete channel nsqd mode", method: "DELETE", path: "/api/topics/t1/c2", ourPath: "/api/topics/t1/c1"},
		req{name: "tombstone nsqd mode", method: "DELETE", path: "/api/nodes/" + cl.nsqd[0].http, body: `{"topic":"t2"}`, ourBody: `{"topic":"t1"}`},
	)
	httpPair(t, c, ref.http, our.http, reqs)
}

// TestNSQAdminPartial puts a dead upstream beside the live ones: the
// warnings and 502s must read as NSQ's.
func TestNSQAdminPartial(t *testing.T) {
	cl := startRefCluster(t)
	dead := testutil.FreeAddr(t)
	for _, mode := range []struct{ name, flags string }{
		{"lookupd", "--lookupd-http-address=" + cl.lookupd.http + " --lookupd-http-address=" + dead},
		{"nsqd", "--nsqd-http-address=" + cl.nsqd[0].http + " --nsqd-http-address=" + dead},
		{"dead lookupd only", "--lookupd-http-address=" + dead},
		{"dead nsqd only", "--nsqd-http-address=" + dead},
	} {
		t.Run(mode.name, func(t *testing.T) {
			ref, our, c := adminPair(t, append(strings.Fields(mode.flags), "--log-level=error")...)
			httpPair(t, c, ref.http, our.http, []req{
				get("api topics", "/api/topics"),
				get("api topics inactive", "/api/topics?inactive=true"),
				get("api topic", "/api/topics/t1"),
				get("api channel", "/api/topics/t1/c1"),
				get("api nodes", "/api/nodes"),
				get("api node", "/api/nodes/"+cl.nsqd[0].http),
				get("api counter", "/api/counter"),
				{name: "pause", method: "POST", path: "/api/topics/t1/c2", body: `{"action":"pause"}`},
				{name: "unpause", method: "POST", path: "/api/topics/t1/c2", body: `{"action":"unpause"}`},
				{name: "create", method: "POST", path: "/api/topics", body: `{"topic":"t1","channel":"c2"}`},
			})
		})
	}
}

// TestNSQAdminAccess covers --admin-user, --allow-config-from-cidr and
// --base-path.
func TestNSQAdminAccess(t *testing.T) {
	cl := startRefCluster(t)
	ref, our, c := adminPair(t, "--lookupd-http-address="+cl.lookupd.http, "--admin-user=bob",
		"--allow-config-from-cidr=10.0.0.0/8", "--base-path=/admin", "--log-level=error")
	httpPair(t, c, ref.http, our.http, []req{
		{name: "root", path: "/", ignoreBody: true},
		{name: "base", path: "/admin", ignoreBody: true},
		{name: "base slash", path: "/admin/", ignoreBody: true},
		get("ping outside base", "/ping"),
		get("ping", "/admin/ping"),
		get("api topics", "/admin/api/topics"),
		{name: "pause anonymous", method: "POST", path: "/admin/api/topics/t1", body: `{"action":"pause"}`},
		{name: "pause other user", method: "POST", path: "/admin/api/topics/t1", body: `{"action":"pause"}`,
			header: map[string]string{"X-Forwarded-User": "eve"}},
		{name: "pause bob", method: "POST", path: "/admin/api/topics/t1", body: `{"action":"pause"}`,
			header: map[string]string{"X-Forwarded-User": "bob"}},
		{name: "unpause bob", method: "POST", path: "/admin/api/topics/t1", body: `{"action":"unpause"}`,
			header: map[string]string{"X-Forwarded-User": "bob"}},
		{name: "delete anonymous", method: "DELETE", path: "/admin/api/topics/t1"},
		{name: "create anonymous bad body", method: "POST", path: "/admin/api/topics", body: `{`},
		get("config from outside cidr", "/admin/config/log_level"),
		{name: "PUT config from outside cidr", method: "PUT", path: "/admin/config/log_level", body: "warn"},
	})
}

// TestNSQAdminGraphiteAndNotify covers /api/graphite and /render against
// a fake Graphite, and the notification bodies both nsqadmins post.
func TestNSQAdminGraphiteAndNotify(t *testing.T) {
	cl := startRefCluster(t)
	var mu sync.Mutex
	rate := "[[12.5, 1]]"
	graphite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(r.URL.RawQuery, "broken") {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"target":"x","datapoints":%s}]`, rate)
	}))
	defer graphite.Close()
	notes := map[string][]map[string]any{}
	sink := func(side string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m map[string]any
			json.NewDecoder(r.Body).Decode(&m)
			mu.Lock()
			notes[side] = append(notes[side], m)
			mu.Unlock()
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	args := []string{"--lookupd-http-address=" + cl.lookupd.http, "--graphite-url=" + graphite.URL,
		"--proxy-graphite", "--statsd-interval=10s", "--log-level=error"}
	ref := start(t, "ref", "nsqadmin", append(args, "--notification-http-endpoint="+sink("ref"))...)
	our := start(t, "our", "nsqadmin", append(args, "--notification-http-endpoint="+sink("our"))...)
	c := newComparer([]*daemon{ref}, []*daemon{our})
	httpPair(t, c, ref.http, our.http, []req{
		get("graphite rate", "/api/graphite?metric=rate&target=sumSeries(x)"),
		get("graphite broken", "/api/graphite?metric=rate&target=broken"),
		get("render", "/render?target=x&format=json"),
		{name: "pause", method: "POST", path: "/api/topics/t1", body: `{"action":"pause"}`,
			header: map[string]string{"User-Agent": "refdiff/1"}},
		{name: "unpause", method: "POST", path: "/api/topics/t1/c1", body: `{"action":"unpause"}`,
			header: map[string]string{"User-Agent": "refdiff/1"}},
	})
	mu.Lock()
	rate = "[[-1, 1]]"
	mu.Unlock()
	httpPair(t, c, ref.http, our.http, []req{get("graphite negative", "/api/graphite?metric=rate&target=y")})
	testutil.Eventually(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(notes["ref"]) == 2 && len(notes["our"]) == 2
	}, "two notifications from each side")
	mu.Lock()
	defer mu.Unlock()
	var diffs []string
	c.volatile["url"], c.volatile["via"] = true, true // the Host header and the OS host name
	for i := range notes["ref"] {
		r := req{name: fmt.Sprintf("notification %d", i)}
		c.diffJSON("", normJSON(notes["ref"][i], c.ref), normJSON(notes["our"][i], c.our), func(f string, a ...any) {
			diffs = append(diffs, r.name+": "+fmt.Sprintf(f, a...))
		})
	}
	report(t, diffs)
}
