package clientapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
)

// fakeDaemon serves canned V1 JSON replies keyed by path+query, and 404
// for anything else.
func fakeDaemon(tb testing.TB, replies map[string]string) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := replies[r.URL.RequestURI()]
		if !ok {
			body, ok = replies[r.URL.Path]
		}
		w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"NOT_FOUND"}`)
			return
		}
		fmt.Fprint(w, body)
	}))
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func testClient() *httpapi.Client { return httpapi.NewClient(nil, time.Second, 5*time.Second) }

func TestLookupdTopics(t *testing.T) {
	a := fakeDaemon(t, map[string]string{"/topics": `{"topics":["b","a"]}`})
	b := fakeDaemon(t, map[string]string{"/topics": `{"topics":["c","a"]}`})
	bad := fakeDaemon(t, nil)
	got, err := LookupdTopics(context.Background(), testClient(), []string{a, b})
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := LookupdTopics(context.Background(), testClient(), []string{a, bad}); err == nil {
		t.Fatal("a failing lookupd must fail the whole refresh")
	}
	// go-nsq also accepts a full URL for a lookupd.
	if got, err := LookupdTopics(context.Background(), testClient(), []string{"http://" + a}); err != nil || len(got) != 2 {
		t.Fatalf("scheme address: %v, %v", got, err)
	}
}

func TestLookupdTopicProducersDedup(t *testing.T) {
	reply := `{"channels":[],"producers":[` +
		`{"broadcast_address":"127.0.0.1","tcp_port":1,"http_port":2},` +
		`{"broadcast_address":"::1","tcp_port":3,"http_port":4}]}`
	a := fakeDaemon(t, map[string]string{"/lookup?topic=t": reply})
	b := fakeDaemon(t, map[string]string{"/lookup?topic=t": reply})
	got, err := LookupdTopicProducers(context.Background(), testClient(), []string{a, b}, "t")
	if err != nil || !slices.Equal(got, []string{"127.0.0.1:2", "[::1]:4"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := LookupdTopicProducers(context.Background(), testClient(), []string{a}, "missing"); err == nil {
		t.Fatal("unknown topic must be an error")
	}
}

func TestNSQDTopicProducersAndStats(t *testing.T) {
	statsQuery := "/stats?channel=c&format=json&include_clients=false&topic=t"
	withTopic := fakeDaemon(t, map[string]string{
		"/stats?format=json&include_clients=false&topic=t": `{"topics":[{"topic_name":"t","channels":[]}]}`,
		"/info": `{"broadcast_address":"127.0.0.1","http_port":4151}`,
		statsQuery: `{"topics":[{"topic_name":"t","channels":[{"channel_name":"c","depth":5,"backend_depth":2,` +
			`"in_flight_count":1,"deferred_count":1,"message_count":10,"requeue_count":3,"timeout_count":4,"client_count":2}]}]}`,
	})
	without := fakeDaemon(t, map[string]string{
		"/stats?format=json&include_clients=false&topic=t": `{"topics":null}`,
		statsQuery: `{"topics":null}`,
	})
	ctx := context.Background()
	got, err := NSQDTopicProducers(ctx, testClient(), []string{withTopic, without}, "t")
	if err != nil || !slices.Equal(got, []string{"127.0.0.1:4151"}) {
		t.Fatalf("producers %v, %v", got, err)
	}
	sum, err := SumChannelStats(ctx, testClient(), []string{withTopic, without, withTopic}, "t", "c")
	want := ChannelStats{ChannelName: "c", Depth: 10, BackendDepth: 4, InFlightCount: 2, DeferredCount: 2,
		MessageCount: 20, RequeueCount: 6, TimeoutCount: 8, ClientCount: 4}
	if err != nil || sum != want {
		t.Fatalf("sum %+v, %v", sum, err)
	}
	if _, err := SumChannelStats(ctx, testClient(), []string{without}, "t", "c"); !errors.Is(err, ErrChannelNotFound) {
		t.Fatalf("missing channel: %v", err)
	}
	if _, err := SumChannelStats(ctx, testClient(), nil, "t", "c"); !errors.Is(err, ErrNoProducers) {
		t.Fatalf("no producers: %v", err)
	}
	if _, err := SumChannelStats(ctx, testClient(), []string{withTopic, fakeDaemon(t, nil)}, "t", "c"); err == nil {
		t.Fatal("one failing node must be an error")
	}
}
