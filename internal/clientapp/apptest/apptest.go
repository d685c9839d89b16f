package apptest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/testutil/gonsqtest"
)

// Publish publishes bodies to topic on the nsqd at tcpAddr, in MPUB
// batches of at most 100.
func Publish(tb testing.TB, tcpAddr, topic string, bodies ...[]byte) {
	tb.Helper()
	w, err := nsq.NewProducer(tcpAddr, nsq.NewConfig())
	if err != nil {
		tb.Fatal(err)
	}
	w.SetLogger(nil, nsq.LogLevelError)
	defer w.Stop()
	for len(bodies) > 0 {
		n := min(len(bodies), 100)
		if err := w.MultiPublish(topic, bodies[:n]); err != nil {
			tb.Fatalf("publish to %s: %v", topic, err)
		}
		bodies = bodies[n:]
	}
}

// Lines returns n bodies "<prefix><i>" for i in 0..n-1.
func Lines(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(prefix + strconv.Itoa(i))
	}
	return out
}

// Consume reads n messages of topic/channel from the nsqd at tcpAddr and
// returns their bodies in arrival order; it fails the test if they do
// not all arrive within timeout.
func Consume(tb testing.TB, tcpAddr, topic, channel string, n int, timeout time.Duration) [][]byte {
	tb.Helper()
	c := gonsqtest.Consume(tb, topic, channel, gonsqtest.Options{NSQD: []string{tcpAddr}})
	c.WaitTotal(tb, n, timeout)
	c.Stop(tb)
	return c.Bodies()[:n]
}

// ChannelStats returns topic/channel's counters from the nsqd HTTP API at
// httpAddr; ok is false when the channel does not exist (yet).
func ChannelStats(tb testing.TB, httpAddr, topic, channel string) (s clientapp.ChannelStats, ok bool) {
	tb.Helper()
	c := httpapi.NewClient(nil, time.Second, 5*time.Second)
	s, err := clientapp.SumChannelStats(context.Background(), c, []string{httpAddr}, topic, channel)
	if errors.Is(err, clientapp.ErrChannelNotFound) {
		return s, false
	}
	if err != nil {
		tb.Fatalf("stats of %s/%s: %v", topic, channel, err)
	}
	return s, true
}

// Drained reports whether topic/channel exists with nothing queued or in
// flight.
func Drained(tb testing.TB, httpAddr, topic, channel string) bool {
	tb.Helper()
	s, ok := ChannelStats(tb, httpAddr, topic, channel)
	return ok && s.Depth == 0 && s.InFlightCount == 0 && s.DeferredCount == 0
}

// WriteFile is os.WriteFile that fails the test on error.
func WriteFile(tb testing.TB, name string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// ClientUserAgents returns the user_agent of every client subscribed to
// topic/channel on the nsqd at httpAddr.
func ClientUserAgents(tb testing.TB, httpAddr, topic, channel string) []string {
	tb.Helper()
	var stats struct {
		Topics []struct {
			Channels []struct {
				ChannelName string `json:"channel_name"`
				Clients     []struct {
					UserAgent string `json:"user_agent"`
				} `json:"clients"`
			} `json:"channels"`
		} `json:"topics"`
	}
	c := httpapi.NewClient(nil, time.Second, 5*time.Second)
	u := "http://" + httpAddr + "/stats?format=json&topic=" + url.QueryEscape(topic) + "&channel=" + url.QueryEscape(channel)
	if err := c.GETV1(context.Background(), u, &stats); err != nil {
		tb.Fatalf("stats: %v", err)
	}
	var out []string
	for _, t := range stats.Topics {
		for _, ch := range t.Channels {
			for _, cl := range ch.Clients {
				out = append(out, cl.UserAgent)
			}
		}
	}
	return out
}
