package nsqd

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/dropin/nsq/nsqlookupd"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// testLookupd is a real nsqlookupd (nsqlookupd/lookupdtest) that nsqd's
// registration tests read through its HTTP /debug dump, which lists every
// registration with each producer's IDENTIFY fields and its last IDENTIFY
// or PING.
type testLookupd struct{ *nsqlookupd.NSQLookupd }

var lookupdClient = &http.Client{Timeout: 10 * time.Second}

func startLookupd(tb testing.TB, configure ...func(*nsqlookupd.Options)) testLookupd {
	tb.Helper()
	return testLookupd{lookupdtest.Start(tb, configure...)}
}

func (l testLookupd) tcp() string { return l.RealTCPAddr().String() }

// restart stops l and starts a new nsqlookupd, which knows nothing yet,
// on the same addresses: nsqd's connection drops as in a lookupd restart.
func (l testLookupd) restart(tb testing.TB) testLookupd {
	tb.Helper()
	tcpAddr, httpAddr := lookupdtest.Addrs(l.NSQLookupd)
	l.Exit()
	return startLookupd(tb, func(o *nsqlookupd.Options) { o.TCPAddress, o.HTTPAddress = tcpAddr, httpAddr })
}

// lookupdEntry is a producer as nsqlookupd's /debug lists it.
type lookupdEntry struct {
	ID               string `json:"id"`
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	TCPPort          int    `json:"tcp_port"`
	HTTPPort         int    `json:"http_port"`
	Version          string `json:"version"`
	TopologyZone     string `json:"topology_zone"`
	LastUpdate       int64  `json:"last_update"`
}

// entries returns the producers /debug lists under key: "client::" for
// every identified connection, "topic:T:" and "channel:T:C" for the
// registrations.
func (l testLookupd) entries(tb testing.TB, key string) []lookupdEntry {
	tb.Helper()
	resp, err := lookupdClient.Get("http://" + l.RealHTTPAddr().String() + "/debug")
	if err != nil {
		tb.Fatalf("lookupd /debug: %v", err)
	}
	defer resp.Body.Close()
	var dump map[string][]lookupdEntry
	if err := json.NewDecoder(resp.Body).Decode(&dump); resp.StatusCode != 200 || err != nil {
		tb.Fatalf("lookupd /debug: %d %v", resp.StatusCode, err)
	}
	return dump[key]
}

// identified returns the one identified connection, if there is one.
func (l testLookupd) identified(tb testing.TB) (lookupdEntry, bool) {
	tb.Helper()
	e := l.entries(tb, "client::")
	if len(e) != 1 {
		return lookupdEntry{}, false
	}
	return e[0], true
}

// registered reports whether a producer is registered for topic, or for
// topic's channel when channel is not empty.
func (l testLookupd) registered(tb testing.TB, topic, channel string) bool {
	tb.Helper()
	key := "topic:" + topic + ":"
	if channel != "" {
		key = "channel:" + topic + ":" + channel
	}
	return len(l.entries(tb, key)) > 0
}

// waitPinged waits until the identified connection has PINGed since it
// was first seen: nsqd sends PING only after it has read the IDENTIFY
// reply, so by then it knows the lookupd's HTTP address.
func (l testLookupd) waitPinged(tb testing.TB) {
	tb.Helper()
	var first lookupdEntry
	eventually(tb, func() bool {
		var ok bool
		first, ok = l.identified(tb)
		return ok
	}, "nsqd identified with the lookupd")
	eventually(tb, func() bool {
		e, ok := l.identified(tb)
		return ok && e.LastUpdate > first.LastUpdate
	}, "PING after IDENTIFY")
}

// post sends an HTTP POST to the lookupd's API.
func (l testLookupd) post(tb testing.TB, path string) {
	tb.Helper()
	resp, err := lookupdClient.Post("http://"+l.RealHTTPAddr().String()+path, "", nil)
	if err != nil {
		tb.Fatalf("lookupd POST %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("lookupd POST %s: %d", path, resp.StatusCode)
	}
}

func TestLookupdRegistration(t *testing.T) {
	lookupd := startLookupd(t)
	opts := testOptions(t)
	opts.NSQLookupdTCPAddresses = []string{lookupd.tcp()}
	opts.LookupdPingInterval = 100 * time.Millisecond
	opts.TopologyZone = "z1"
	n := startNSQD(t, opts)

	var id lookupdEntry
	eventually(t, func() bool {
		var ok bool
		id, ok = lookupd.identified(t)
		return ok
	}, "IDENTIFY sent")
	tcpPort := n.RealTCPAddr().(*net.TCPAddr).Port
	httpPort := n.RealHTTPAddr().(*net.TCPAddr).Port
	if id.BroadcastAddress != "127.0.0.1" || id.TCPPort != tcpPort || id.HTTPPort != httpPort ||
		id.Version != "1.3.0" || id.TopologyZone != "z1" || id.Hostname == "" {
		t.Fatalf("IDENTIFY body %+v", id)
	}
	lookupd.waitPinged(t)

	httpDo(t, n, "POST", "/topic/create?topic=lk", "")
	eventually(t, func() bool { return lookupd.registered(t, "lk", "") }, "topic REGISTER")
	httpDo(t, n, "POST", "/channel/create?topic=lk&channel=lc", "")
	eventually(t, func() bool { return lookupd.registered(t, "lk", "lc") }, "channel REGISTER")
	httpDo(t, n, "POST", "/channel/delete?topic=lk&channel=lc", "")
	eventually(t, func() bool { return !lookupd.registered(t, "lk", "lc") }, "channel UNREGISTER")
	httpDo(t, n, "POST", "/topic/delete?topic=lk", "")
	eventually(t, func() bool { return !lookupd.registered(t, "lk", "") }, "topic UNREGISTER")

	// ephemeral channels register and unregister too
	sub := subscribe(t, n, "e", "x#ephemeral", 0)
	eventually(t, func() bool { return lookupd.registered(t, "e", "x#ephemeral") }, "ephemeral REGISTER")
	sub.conn.Close()
	eventually(t, func() bool { return !lookupd.registered(t, "e", "x#ephemeral") }, "ephemeral UNREGISTER")

	// a lookupd that restarts (dropping the connection, forgetting
	// everything) gets a fresh IDENTIFY and a full REGISTER of what exists
	httpDo(t, n, "POST", "/topic/create?topic=keep", "")
	httpDo(t, n, "POST", "/channel/create?topic=keep&channel=kc", "")
	eventually(t, func() bool { return lookupd.registered(t, "keep", "kc") }, "keep registered")
	lookupd = lookupd.restart(t)
	eventually(t, func() bool {
		_, ok := lookupd.identified(t)
		return ok && lookupd.registered(t, "keep", "") && lookupd.registered(t, "keep", "kc") && lookupd.registered(t, "e", "")
	}, "re-IDENTIFY and re-REGISTER after the lookupd restarted")
}

func TestLookupdChannelsPrecreated(t *testing.T) {
	lookupd := startLookupd(t)
	lookupd.post(t, "/channel/create?topic=pre&channel=known")
	lookupd.post(t, "/channel/create?topic=pre&channel="+url.QueryEscape("tmp#ephemeral"))
	opts := testOptions(t)
	opts.NSQLookupdTCPAddresses = []string{lookupd.tcp()}
	opts.LookupdPingInterval = 100 * time.Millisecond
	n := startNSQD(t, opts)
	lookupd.waitPinged(t)
	publish(t, n, "pre", "first")
	ts := getStats(t, n, "&topic=pre").Topics[0]
	if len(ts.Channels) != 1 || ts.Channels[0].ChannelName != "known" || ts.Channels[0].Depth != 1 {
		t.Fatalf("channels from lookupd not pre-created: %+v", ts.Channels)
	}
}

func TestLookupdConfigChange(t *testing.T) {
	a, b := startLookupd(t), startLookupd(t)
	opts := testOptions(t)
	opts.NSQLookupdTCPAddresses = []string{a.tcp()}
	n := startNSQD(t, opts)
	eventually(t, func() bool { _, ok := a.identified(t); return ok }, "a identified")
	code, body, _ := httpDo(t, n, "PUT", "/config/nsqlookupd_tcp_addresses", fmt.Sprintf(`[%q]`, b.tcp()))
	if code != 200 || body != fmt.Sprintf(`[%q]`, b.tcp()) {
		t.Fatalf("PUT: %d %s", code, body)
	}
	eventually(t, func() bool { _, ok := b.identified(t); return ok }, "b identified")
	httpDo(t, n, "POST", "/topic/create?topic=moved", "")
	eventually(t, func() bool { return b.registered(t, "moved", "") }, "b gets REGISTER")
	if a.registered(t, "moved", "") {
		t.Fatal("dropped lookupd still told about new topics")
	}
}
