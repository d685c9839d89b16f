package clusterinfo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// testCluster is a real nsqlookupd with two real nsqds registered to it:
// nsqd a has topic "orders" with channel "billing" holding three
// messages, nsqd b has topic "events" only.
type testCluster struct {
	lookupd    string // HTTP address
	a, b       string // HTTP addresses
	aTCP, bTCP string
}

func startCluster(tb testing.TB) *testCluster {
	tb.Helper()
	l := lookupdtest.Start(tb)
	lookupdTCP, lookupdHTTP := lookupdtest.Addrs(l)
	c := &testCluster{lookupd: lookupdHTTP}
	for _, addrs := range []*[2]*string{{&c.aTCP, &c.a}, {&c.bTCP, &c.b}} {
		n := nsqdtest.Start(tb, nsqdtest.Lookupds(lookupdTCP))
		*addrs[0], *addrs[1] = nsqdtest.Addrs(n)
	}
	post(tb, c.a, "/topic/create", url.Values{"topic": {"orders"}})
	post(tb, c.a, "/channel/create", url.Values{"topic": {"orders"}, "channel": {"billing"}})
	for i := 0; i < 3; i++ {
		post(tb, c.a, "/pub", url.Values{"topic": {"orders"}})
	}
	post(tb, c.b, "/topic/create", url.Values{"topic": {"events"}})
	// registration with the lookupd is asynchronous
	testutil.Eventually(tb, 10*time.Second, func() bool {
		for _, topic := range []string{"orders", "events"} {
			resp, err := http.Get("http://" + c.lookupd + "/lookup?topic=" + topic)
			if err != nil {
				return false
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	}, "nsqds did not register their topics with nsqlookupd")
	return c
}

func post(tb testing.TB, addr, path string, q url.Values) {
	tb.Helper()
	resp, err := http.Post(clusterinfo.Endpoint(addr, path, q), "application/octet-stream", strings.NewReader("msg"))
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("POST %s%s: %s", addr, path, resp.Status)
	}
}

// brokenDaemon answers every request with a 500.
func brokenDaemon(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.RespondV1(w, http.StatusInternalServerError, httpapi.Err{Code: 500, Text: "INTERNAL_ERROR"})
	}))
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func newClient(p clusterinfo.Policy) *clusterinfo.Client {
	return clusterinfo.New(httpapi.NewClient(nil, time.Second, 5*time.Second), p)
}

func TestLookupdQueries(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	ci := newClient(clusterinfo.Strict)
	// the same lookupd twice: answers are merged, not repeated
	lookupds := []string{c.lookupd, "http://" + c.lookupd + "/"}

	topics, err := ci.LookupdTopics(ctx, lookupds)
	if err != nil || !slices.Equal(topics, []string{"events", "orders"}) {
		t.Fatalf("topics %v, %v", topics, err)
	}
	channels, err := ci.LookupdTopicChannels(ctx, lookupds, "orders")
	if err != nil || !slices.Equal(channels, []string{"billing"}) {
		t.Fatalf("channels %v, %v", channels, err)
	}
	peers, err := ci.LookupdTopicProducers(ctx, lookupds, "orders")
	if err != nil || len(peers) != 1 || peers[0].HTTPAddress() != c.a || peers[0].TCPAddress() != c.aTCP {
		t.Fatalf("producers of orders %+v, %v", peers, err)
	}
	if peers[0].RemoteAddress == "" || peers[0].Version == "" || peers[0].Hostname == "" {
		t.Errorf("producer lacks fields: %+v", peers[0])
	}
	if _, err := ci.LookupdTopicProducers(ctx, lookupds, "nope"); err == nil {
		t.Error("unknown topic: no error")
	}

	lists, err := ci.LookupdNodes(ctx, lookupds)
	if err != nil || len(lists) != 2 || len(lists[0]) != 2 {
		t.Fatalf("nodes %v, %v", lists, err)
	}
	byAddr := map[string]*clusterinfo.Node{}
	for _, n := range lists[0] {
		byAddr[n.HTTPAddress()] = n
	}
	if n := byAddr[c.a]; n == nil || !slices.Equal(n.Topics, []string{"orders"}) || !slices.Equal(n.Tombstones, []bool{false}) {
		t.Errorf("node a %+v", n)
	}
	if n := byAddr[c.b]; n == nil || !slices.Equal(n.Topics, []string{"events"}) {
		t.Errorf("node b %+v", n)
	}
}

func TestNSQDQueries(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	ci := newClient(clusterinfo.Strict)
	nsqds := []string{c.a, c.b}

	topics, err := ci.NSQDTopics(ctx, nsqds)
	if err != nil || !slices.Equal(topics, []string{"events", "orders"}) {
		t.Fatalf("topics %v, %v", topics, err)
	}
	info, err := ci.Info(ctx, c.a)
	if err != nil || info.HTTPAddress() != c.a || info.TCPAddress() != c.aTCP || info.RemoteAddress != "" {
		t.Fatalf("info %+v, %v", info, err)
	}

	nodes, err := ci.NSQDNodes(ctx, nsqds, "orders")
	if err != nil || len(nodes) != 2 || nodes[0].Addr != c.a || nodes[1].Addr != c.b {
		t.Fatalf("nodes %+v, %v", nodes, err)
	}
	if !nodes[0].Stats.HasTopic("orders") || nodes[1].Stats.HasTopic("orders") || nodes[1].Info.HTTPAddress() != c.b {
		t.Errorf("nodes' stats or info wrong: %+v %+v", nodes[0], nodes[1])
	}

	producers, err := ci.NSQDTopicProducers(ctx, nsqds, "orders")
	if err != nil || len(producers) != 1 || producers[0].Info.HTTPAddress() != c.a {
		t.Fatalf("producers %+v, %v", producers, err)
	}

	stats, err := ci.StatsEach(ctx, nsqds, clusterinfo.StatsQuery{Topic: "orders", Channel: "billing", Clients: true})
	if err != nil || len(stats) != 2 || len(stats[0].Topics) != 1 || len(stats[0].Topics[0].Channels) != 1 {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	ch := stats[0].Topics[0].Channels[0]
	want := clusterinfo.ChannelCounts{ChannelName: "billing", Depth: 3, MessageCount: 3}
	if ch.ChannelCounts != want || ch.Clients == nil {
		t.Errorf("channel %+v, want %+v and an empty client list", ch, want)
	}
	if stats[0].Topics[0].MessageCount != 3 || stats[0].Health != "OK" {
		t.Errorf("topic %+v", stats[0])
	}
	var sum clusterinfo.ChannelCounts
	sum.Add(ch.ChannelCounts)
	sum.Add(ch.ChannelCounts)
	if sum.Depth != 6 || sum.MessageCount != 6 || sum.ChannelName != "" {
		t.Errorf("sum %+v", sum)
	}
}

func TestPolicies(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	bad := brokenDaemon(t)
	badURL := "http://" + bad + "/topics"

	t.Run("partial", func(t *testing.T) {
		ci := newClient(clusterinfo.Partial)
		topics, err := ci.LookupdTopics(ctx, []string{c.lookupd, bad})
		var pe *clusterinfo.PartialError
		if !errors.As(err, &pe) || !clusterinfo.IsPartial(err) || len(pe.Errs) != 1 || !slices.Equal(topics, []string{"events", "orders"}) {
			t.Fatalf("one lookupd down: %v, %v", topics, err)
		}
		if want := "GET " + badURL + `: got response 500 Internal Server Error "{\"message\":\"INTERNAL_ERROR\"}"`; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		nodes, err := ci.NSQDNodes(ctx, []string{bad, c.a}, "")
		if !clusterinfo.IsPartial(err) || len(nodes) != 1 || nodes[0].Addr != c.a || !strings.HasPrefix(err.Error(), "GET http://"+bad+"/info: ") {
			t.Errorf("one nsqd down: %v, %v", nodes, err)
		}
		stats, err := ci.StatsEach(ctx, []string{c.a, bad}, clusterinfo.StatsQuery{})
		if !clusterinfo.IsPartial(err) || len(stats) != 2 || stats[0] == nil || stats[1] != nil || len(clusterinfo.Errors(err)) != 1 {
			t.Errorf("stats with one nsqd down: %v, %v", stats, err)
		}
	})

	t.Run("all failed", func(t *testing.T) {
		ci := newClient(clusterinfo.Partial)
		_, err := ci.LookupdTopics(ctx, []string{bad, bad})
		var ae *clusterinfo.AllFailedError
		if !errors.As(err, &ae) || clusterinfo.IsPartial(err) || len(ae.Errs) != 2 ||
			!strings.HasPrefix(err.Error(), "failed to query any nsqlookupd: GET "+badURL+": ") {
			t.Fatalf("every lookupd down: %v", err)
		}
		if _, err := ci.NSQDTopics(ctx, []string{bad}); !errors.As(err, &ae) || ae.Kind != "nsqd" {
			t.Errorf("every nsqd down: %v", err)
		}
	})

	t.Run("strict", func(t *testing.T) {
		ci := newClient(clusterinfo.Strict)
		topics, err := ci.LookupdTopics(ctx, []string{c.lookupd, bad})
		if topics != nil || err == nil || clusterinfo.IsPartial(err) || !strings.HasPrefix(err.Error(), "GET "+badURL+": ") {
			t.Fatalf("one lookupd down: %v, %v", topics, err)
		}
		// the first failure in address order, whichever answered first
		dead := "127.0.0.1:1"
		_, err = ci.NSQDTopicProducers(ctx, []string{c.a, dead, bad}, "orders")
		if err == nil || !strings.HasPrefix(err.Error(), "GET http://"+dead+"/stats?") {
			t.Errorf("first failure: %v", err)
		}
		if got := clusterinfo.Errors(err); len(got) != 1 || got[0] != err {
			t.Errorf("Errors of a plain error: %v", got)
		}
	})
}

func TestStatsQuery(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RequestURI())
		httpapi.RespondV1(w, http.StatusOK, map[string]any{"topics": nil})
	}))
	defer srv.Close()
	ci := newClient(clusterinfo.Strict)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, q := range []clusterinfo.StatsQuery{
		{},
		{Topic: "t", Channel: "c", Clients: true, OmitMem: true},
	} {
		if _, err := ci.Stats(context.Background(), addr, q); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"/stats?format=json&include_clients=false",
		"/stats?channel=c&format=json&include_clients=true&include_mem=false&topic=t",
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		addr, path string
		q          url.Values
		want       string
	}{
		{"127.0.0.1:4161", "/topics", nil, "http://127.0.0.1:4161/topics"},
		{"[::1]:4161", "/lookup", url.Values{"topic": {"a b"}}, "http://[::1]:4161/lookup?topic=a+b"},
		{"https://lookupd.example:4161/", "/nodes", url.Values{}, "https://lookupd.example:4161/nodes"},
	} {
		if got := clusterinfo.Endpoint(tc.addr, tc.path, tc.q); got != tc.want {
			t.Errorf("Endpoint(%q, %q, %v) = %q, want %q", tc.addr, tc.path, tc.q, got, tc.want)
		}
	}
}
