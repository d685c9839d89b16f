package nsqadmin

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlookupd"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// liveCluster is a real nsqlookupd and real nsqds on 127.0.0.1:0.
type liveCluster struct {
	lookupd *nsqlookupd.NSQLookupd
	nsqds   []*nsqd.NSQD
	stopped []bool
}

// quietNSQD keeps a test nsqd's log to warnings: these tests read its
// API, not its log.
func quietNSQD(o *nsqd.Options) { o.LogLevel = lg.WARN }

// startNSQD starts an nsqd registered with the nsqlookupd at lookupdTCP
// (none if empty).
func startNSQD(tb testing.TB, lookupdTCP string, configure ...func(*nsqd.Options)) *nsqd.NSQD {
	tb.Helper()
	configure = append([]func(*nsqd.Options){quietNSQD}, configure...)
	if lookupdTCP != "" {
		configure = append(configure, nsqdtest.Lookupds(lookupdTCP))
	}
	return nsqdtest.Start(tb, configure...)
}

// startLiveCluster starts a lookupd and n nsqds registered with it.
func startLiveCluster(tb testing.TB, n int) *liveCluster {
	tb.Helper()
	c := &liveCluster{lookupd: lookupdtest.Start(tb)}
	for i := 0; i < n; i++ {
		c.nsqds = append(c.nsqds, startNSQD(tb, c.lookupd.RealTCPAddr().String()))
	}
	testutil.Eventually(tb, 10*time.Second, func() bool {
		var r struct {
			Producers []any `json:"producers"`
		}
		return httpJSON(tb, "GET", "http://"+c.lookupdHTTP()+"/nodes", &r) == 200 && len(r.Producers) == n
	}, "%d nsqds registered with nsqlookupd", n)
	return c
}

func (c *liveCluster) lookupdHTTP() string { return c.lookupd.RealHTTPAddr().String() }

// node is nsqd i's node key, broadcast_address:http_port.
func (c *liveCluster) node(i int) string { return c.nsqds[i].RealHTTPAddr().String() }

func (c *liveCluster) lookupdMode(o *Options) { o.NSQLookupdHTTPAddresses = []string{c.lookupdHTTP()} }

func (c *liveCluster) nsqdMode(o *Options) {
	for i := range c.nsqds {
		o.NSQDHTTPAddresses = append(o.NSQDHTTPAddresses, c.node(i))
	}
}

// httpJSON calls an upstream and decodes its JSON reply into v.
func httpJSON(tb testing.TB, method, u string, v any) int {
	tb.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 && len(data) > 0 {
		if err := jsonUnmarshal(data, v); err != nil {
			tb.Fatalf("%s %s: %v in %q", method, u, err, data)
		}
	}
	return resp.StatusCode
}

// publish sends count messages to topic on nsqd i over HTTP.
func (c *liveCluster) publish(tb testing.TB, i int, topic string, count int) {
	tb.Helper()
	bodies := make([]string, count)
	for j := range bodies {
		bodies[j] = fmt.Sprintf("message %d", j)
	}
	resp, err := http.Post("http://"+c.node(i)+"/mpub?topic="+url.QueryEscape(topic), "text/plain", strings.NewReader(strings.Join(bodies, "\n")))
	if err != nil {
		tb.Fatalf("mpub: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("mpub: %d %s", resp.StatusCode, body)
	}
}

// createChannel creates a topic and its channel directly on nsqd i.
func (c *liveCluster) createChannel(tb testing.TB, i int, topic, channel string) {
	tb.Helper()
	if s := httpJSON(tb, "POST", "http://"+c.node(i)+"/topic/create?"+q("topic", topic), nil); s != 200 {
		tb.Fatalf("topic/create on nsqd %d: %d", i, s)
	}
	if s := httpJSON(tb, "POST", "http://"+c.node(i)+"/channel/create?"+q("topic", topic, "channel", channel), nil); s != 200 {
		tb.Fatalf("channel/create on nsqd %d: %d", i, s)
	}
}

// liveStats is what nsqd i's /stats says about topic (nil if absent).
type liveTopic struct {
	TopicName    string `json:"topic_name"`
	Depth        int64  `json:"depth"`
	MessageCount int64  `json:"message_count"`
	Paused       bool   `json:"paused"`
	Channels     []struct {
		ChannelName   string `json:"channel_name"`
		Depth         int64  `json:"depth"`
		InFlightCount int64  `json:"in_flight_count"`
		MessageCount  int64  `json:"message_count"`
		ClientCount   int    `json:"client_count"`
		Paused        bool   `json:"paused"`
	} `json:"channels"`
}

func (c *liveCluster) stats(tb testing.TB, i int, topic string) *liveTopic {
	tb.Helper()
	var s struct {
		Topics []*liveTopic `json:"topics"`
	}
	httpJSON(tb, "GET", "http://"+c.node(i)+"/stats?format=json&topic="+url.QueryEscape(topic), &s)
	for _, t := range s.Topics {
		if t.TopicName == topic {
			return t
		}
	}
	return nil
}

// waitProducers waits until lookupd lists n producers of topic.
func (c *liveCluster) waitProducers(tb testing.TB, topic string, n int) {
	tb.Helper()
	testutil.Eventually(tb, 10*time.Second, func() bool {
		var r struct {
			Producers []any `json:"producers"`
		}
		return httpJSON(tb, "GET", "http://"+c.lookupdHTTP()+"/lookup?topic="+url.QueryEscape(topic), &r) == 200 && len(r.Producers) == n
	}, "%d producers of %s in nsqlookupd", n, topic)
}

// consume connects a go-nsq consumer to topic/channel on nsqd i; every
// message is handed to handle (nil: finish it).
func (c *liveCluster) consume(tb testing.TB, i int, topic, channel, clientID string, handle func(*nsq.Message) error) *nsq.Consumer {
	tb.Helper()
	cfg := nsq.NewConfig()
	cfg.ClientID = clientID
	cfg.Hostname = clientID + ".example"
	cfg.MaxInFlight = 5
	// go-nsq's 1 s write deadline drops the connection on a loaded
	// machine, and the page then briefly shows no consumer
	cfg.WriteTimeout = 30 * time.Second
	cons, err := nsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	cons.SetLoggerLevel(nsq.LogLevelError)
	if handle == nil {
		handle = func(*nsq.Message) error { return nil }
	}
	cons.AddHandler(nsq.HandlerFunc(handle))
	if err := cons.ConnectToNSQD(c.nsqds[i].RealTCPAddr().String()); err != nil {
		tb.Fatalf("consumer: %v", err)
	}
	tb.Cleanup(func() {
		cons.Stop()
		select {
		case <-cons.StopChan:
		case <-time.After(5 * time.Second):
		}
	})
	return cons
}

// TestLiveReadAPI checks every read endpoint against a real nsqlookupd
// and two real nsqds, in both discovery modes.
func TestLiveReadAPI(t *testing.T) {
	c := startLiveCluster(t, 2)
	c.publish(t, 0, "orders", 4)
	c.publish(t, 1, "orders", 2)
	c.createChannel(t, 0, "orders", "billing")
	c.createChannel(t, 1, "orders", "billing")
	c.publish(t, 0, "orders", 10)
	c.publish(t, 1, "orders", 5)
	c.publish(t, 0, "events", 1)
	c.waitProducers(t, "orders", 2)
	// a consumer that holds its messages, so they stay in flight
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	c.consume(t, 0, "orders", "audit", "worker1", func(*nsq.Message) error { <-hold; return nil })
	testutil.Eventually(t, 10*time.Second, func() bool {
		s := c.stats(t, 0, "orders")
		return s != nil && len(s.Channels) == 2 && s.Channels[0].ClientCount == 1
	}, "consumer on orders/audit")
	// messages waited in the topics until billing existed, so billing has
	// 4+10 on nsqd 0 and 2+5 on nsqd 1; these 3 reach both channels
	c.publish(t, 0, "orders", 3)
	testutil.Eventually(t, 10*time.Second, func() bool {
		s := c.stats(t, 0, "orders")
		return s.Channels[0].InFlightCount > 0
	}, "messages in flight to the consumer")

	for _, mode := range []struct {
		name string
		fn   func(*Options)
	}{{"lookupd", c.lookupdMode}, {"nsqd", c.nsqdMode}} {
		t.Run(mode.name, func(t *testing.T) {
			a := startAdmin(t, mode.fn)
			topics := getOK(t, a.url+"/api/topics")
			if fmt.Sprint(topics["topics"]) != "[events orders]" || topics["message"] != "" {
				t.Errorf("topics = %v", topics)
			}

			topic := getOK(t, a.url+"/api/topics/orders")
			wantKeys(t, "topic", topic, append(topicStatsKeys, "message")...)
			if num(topic["message_count"]) != 24 || len(list(topic["nodes"])) != 2 || topic["node"] != "*" {
				t.Errorf("topic = %v", topic)
			}
			for _, n := range list(topic["nodes"]) {
				wantKeys(t, "node topic", n, topicStatsKeys...)
				if h := obj(n)["hostname"]; h == "" {
					t.Errorf("node without hostname: %v", n)
				}
			}
			var names []string
			for _, ch := range list(topic["channels"]) {
				wantKeys(t, "channel", ch, channelStatsKeysPlus(ch)...)
				names = append(names, obj(ch)["channel_name"].(string))
			}
			if strings.Join(names, ",") != "audit,billing" {
				t.Errorf("channels = %v", names)
			}
			billing := obj(list(topic["channels"])[1])
			if num(billing["depth"]) != 24 || num(billing["message_count"]) != 24 || len(list(billing["nodes"])) != 2 {
				t.Errorf("billing = %v", billing)
			}

			ch := getOK(t, a.url+"/api/topics/orders/audit")
			if num(ch["client_count"]) != 1 || num(ch["in_flight_count"]) == 0 {
				t.Errorf("audit = %v", ch)
			}
			clients := list(ch["clients"])
			if len(clients) != 1 {
				t.Fatalf("clients = %v", clients)
			}
			cl := obj(clients[0])
			wantKeys(t, "live client", cl, clientStatsKeysPlus(cl)...)
			if cl["client_id"] != "worker1" || cl["hostname"] != "worker1.example" || cl["node"] != c.node(0) ||
				!strings.HasPrefix(cl["user_agent"].(string), "go-nsq/") || cl["version"] != "V2" {
				t.Errorf("client = %v", cl)
			}

			nodes := getOK(t, a.url+"/api/nodes")
			if len(list(nodes["nodes"])) != 2 {
				t.Fatalf("nodes = %v", nodes)
			}
			for _, n := range list(nodes["nodes"]) {
				wantKeys(t, "live node", n, producerKeysPlus(n)...)
				if obj(n)["version"] != "1.3.0" || obj(n)["out_of_date"] != false {
					t.Errorf("node = %v", n)
				}
				if mode.name == "lookupd" && len(list(obj(n)["remote_addresses"])) != 1 {
					t.Errorf("remote_addresses = %v", obj(n)["remote_addresses"])
				}
			}

			node := getOK(t, a.url+"/api/nodes/"+c.node(0))
			if num(node["total_messages"]) != 18 || num(node["total_clients"]) != 1 || len(list(node["topics"])) != 2 {
				t.Errorf("node = %v", node)
			}

			counter := obj(getOK(t, a.url+"/api/counter")["stats"])
			key := "orders:billing:" + c.node(1)
			if len(counter) != 3 || num(obj(counter[key])["message_count"]) != 7 ||
				num(obj(counter["orders:audit:"+c.node(0)])["message_count"]) != 3 {
				t.Errorf("counter = %v", counter)
			}
		})
	}
}

// channelStatsKeysPlus allows the delivery counters nsqd adds when
// non-zero (global_msg_count counts every delivery from memory).
func channelStatsKeysPlus(v any) []string {
	out := append([]string{}, channelStatsKeys...)
	for _, k := range []string{"delivery_msg_count", "zone_local_msg_count", "region_local_msg_count", "global_msg_count"} {
		if _, ok := obj(v)[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

func clientStatsKeysPlus(v any) []string {
	out := append([]string{}, clientStatsKeys...)
	for _, k := range []string{"topology_region", "topology_zone", "node_topology_region", "node_topology_zone"} {
		if _, ok := obj(v)[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

func producerKeysPlus(v any) []string {
	out := append([]string{}, producerKeys...)
	for _, k := range []string{"topology_region", "topology_zone"} {
		if _, ok := obj(v)[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

func TestLiveNodeDown(t *testing.T) {
	c := startLiveCluster(t, 2)
	c.publish(t, 0, "orders", 3)
	c.publish(t, 1, "orders", 3)
	a := startAdmin(t, func(o *Options) { c.nsqdMode(o); o.HTTPClientRequestTimeout = time.Second })
	c.nsqds[1].Exit()
	r := call(t, "GET", a.url+"/api/topics/orders", nil)
	if r.status != 200 || !strings.HasPrefix(r.message(), "WARNING: GET http://"+c.node(1)+"/info") || num(r.json["message_count"]) != 3 {
		t.Errorf("one nsqd down: %d %s", r.status, r.body)
	}
	c.nsqds[0].Exit()
	r = call(t, "GET", a.url+"/api/topics/orders", nil)
	if r.status != 502 || !strings.HasPrefix(r.message(), "UPSTREAM_ERROR: failed to query any nsqd: ") {
		t.Errorf("every nsqd down: %d %s", r.status, r.body)
	}
}

func TestLiveActions(t *testing.T) {
	c := startLiveCluster(t, 2)
	sink := newNotifySink(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.NotificationHTTPEndpoint = sink.srv.URL })
	c.publish(t, 0, "orders", 5)
	c.publish(t, 1, "orders", 5)
	c.waitProducers(t, "orders", 2)

	// create: lookupd learns the channel, and both nsqds create it
	if r := call(t, "POST", a.url+"/api/topics", map[string]string{"topic": "orders", "channel": "billing"}); r.status != 200 || r.message() != "" {
		t.Fatalf("create channel: %d %s", r.status, r.body)
	}
	for i := range c.nsqds {
		if s := c.stats(t, i, "orders"); s == nil || len(s.Channels) != 1 || s.Channels[0].ChannelName != "billing" {
			t.Errorf("nsqd %d: channel not created: %+v", i, s)
		}
	}
	var chans struct {
		Channels []string `json:"channels"`
	}
	httpJSON(t, "GET", "http://"+c.lookupdHTTP()+"/channels?topic=orders", &chans)
	if fmt.Sprint(chans.Channels) != "[billing]" {
		t.Errorf("lookupd channels = %v", chans.Channels)
	}
	if r := call(t, "POST", a.url+"/api/topics", map[string]string{"topic": "fresh"}); r.status != 200 {
		t.Fatalf("create topic: %d %s", r.status, r.body)
	}
	var topics struct {
		Topics []string `json:"topics"`
	}
	httpJSON(t, "GET", "http://"+c.lookupdHTTP()+"/topics", &topics)
	if !strings.Contains(fmt.Sprint(topics.Topics), "fresh") {
		t.Errorf("lookupd topics = %v", topics.Topics)
	}
	inactive := getOK(t, a.url+"/api/topics?inactive=true")
	if _, ok := obj(inactive["topics"])["fresh"]; !ok || obj(inactive["topics"])["fresh"] != nil {
		t.Errorf("inactive = %v", inactive)
	}

	c.publish(t, 0, "orders", 7)
	steps := []struct {
		name, method, path string
		body               any
		check              func() bool
	}{
		{"pause channel", "POST", "/api/topics/orders/billing", map[string]string{"action": "pause"}, func() bool {
			return c.stats(t, 0, "orders").Channels[0].Paused && c.stats(t, 1, "orders").Channels[0].Paused
		}},
		{"unpause channel", "POST", "/api/topics/orders/billing", map[string]string{"action": "unpause"}, func() bool {
			return !c.stats(t, 0, "orders").Channels[0].Paused
		}},
		{"empty channel", "POST", "/api/topics/orders/billing", map[string]string{"action": "empty"}, func() bool {
			return c.stats(t, 0, "orders").Channels[0].Depth == 0
		}},
		{"pause topic", "POST", "/api/topics/orders", map[string]string{"action": "pause"}, func() bool {
			return c.stats(t, 0, "orders").Paused && c.stats(t, 1, "orders").Paused
		}},
		{"empty topic", "POST", "/api/topics/orders", map[string]string{"action": "empty"}, func() bool {
			c.publish(t, 0, "orders", 3) // paused: stays in the topic
			return c.stats(t, 0, "orders").Depth == 3
		}},
		{"unpause topic", "POST", "/api/topics/orders", map[string]string{"action": "unpause"}, func() bool {
			return !c.stats(t, 0, "orders").Paused
		}},
		{"delete channel", "DELETE", "/api/topics/orders/billing", nil, func() bool {
			return len(c.stats(t, 0, "orders").Channels) == 0 && len(c.stats(t, 1, "orders").Channels) == 0
		}},
		{"tombstone node 1", "DELETE", "/api/nodes/" + c.node(1), map[string]string{"topic": "orders"}, func() bool {
			var r struct {
				Producers []struct {
					HTTPPort int `json:"http_port"`
				} `json:"producers"`
			}
			httpJSON(t, "GET", "http://"+c.lookupdHTTP()+"/lookup?topic=orders", &r)
			return c.stats(t, 1, "orders") == nil && c.stats(t, 0, "orders") != nil && len(r.Producers) == 1
		}},
		{"delete topic", "DELETE", "/api/topics/orders", nil, func() bool {
			return c.stats(t, 0, "orders") == nil
		}},
	}
	for i, s := range steps {
		r := call(t, s.method, a.url+s.path, s.body)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", s.name, r.status, r.body)
		}
		if r.message() != "" {
			t.Errorf("%s: warning %s", s.name, r.message())
		}
		testutil.Eventually(t, 5*time.Second, s.check, "%s took effect", s.name)
		waitNotifications(t, sink, 4+i)
	}
	var got []string
	for _, n := range sink.all() {
		got = append(got, n["action"].(string))
	}
	want := "create_topic,create_channel,create_topic,pause_channel,unpause_channel,empty_channel,pause_topic," +
		"empty_topic,unpause_topic,delete_channel,tombstone_topic_producer,delete_topic"
	if strings.Join(got, ",") != want {
		t.Errorf("notifications:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}
