package nsqlookupd

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// TestConcurrentClients runs several nsqd-like TCP clients registering
// and unregistering at random while HTTP readers and admin calls run, then
// brings every client to a known state and checks it over HTTP.
func TestConcurrentClients(t *testing.T) {
	const (
		workers  = 6
		commands = 150
		nTopics  = 5
	)
	n := mustStart(t, func(o *Options) { o.TombstoneLifetime = time.Hour; o.LogLevel = lg.WARN })
	topicName := func(i int) string {
		if i == nTopics-1 {
			return "eph#ephemeral"
		}
		return fmt.Sprintf("t%d", i)
	}
	channelName := func(i int) string { return []string{"c0", "c1", "e#ephemeral"}[i%3] }
	peers := make([]*peer, workers)
	for w := range peers {
		peers[w] = identified(t, n, fmt.Sprintf("w%d", w), 4000+w, 5000+w)
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers+4)
	// HTTP readers
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 3))
			for i := range commands {
				paths := []string{"/lookup?topic=" + topicName(rng.IntN(nTopics)), "/nodes", "/debug", "/topics", "/channels?topic=t0"}
				path := paths[i%len(paths)]
				resp, err := tryRequest(n, "GET", path)
				if err != nil || (resp.status != 200 && resp.status != 404) {
					errs <- fmt.Errorf("GET %s: %v %d %s", path, err, resp.status, resp.body)
					return
				}
				if path == "/nodes" {
					var v struct{ Producers []nodeResult }
					if err := json.Unmarshal([]byte(resp.body), &v); err != nil {
						errs <- fmt.Errorf("/nodes: %v", err)
						return
					}
					for _, nd := range v.Producers {
						if len(nd.Topics) != len(nd.Tombstones) {
							errs <- fmt.Errorf("/nodes %s: %d topics, %d tombstones", nd.RemoteAddress, len(nd.Topics), len(nd.Tombstones))
							return
						}
					}
				}
			}
		}()
	}
	// admin calls
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(5, 5))
		for i := range commands / 2 {
			topic := strings.ReplaceAll(topicName(rng.IntN(nTopics)), "#", "%23")
			paths := []string{
				"/topic/create?topic=" + topic,
				"/channel/create?topic=" + topic + "&channel=c0",
				fmt.Sprintf("/topic/tombstone?topic=%s&node=w%d:%d", topic, rng.IntN(workers), 5000+rng.IntN(workers)),
				"/channel/delete?topic=" + topic + "&channel=c1",
			}
			resp, err := tryRequest(n, "POST", paths[i%len(paths)])
			if err != nil || (resp.status != 200 && resp.status != 404) {
				errs <- fmt.Errorf("POST %s: %v %d %s", paths[i%len(paths)], err, resp.status, resp.body)
				return
			}
		}
	}()
	// nsqd-like clients
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for range commands {
				line := "REGISTER " + topicName(rng.IntN(nTopics))
				if rng.IntN(3) == 0 {
					line = "UN" + line
				}
				if rng.IntN(2) == 0 {
					line += " " + channelName(rng.IntN(3))
				}
				if got, err := peers[w].try(line); err != nil || got != "OK" {
					errs <- fmt.Errorf("worker %d %q: %q %v", w, line, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// final state: worker w withdraws everything, then produces topic i
	// iff (w+i) is even, with channel w<w>
	for w, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range nTopics {
				p.try("UNREGISTER " + topicName(i))
			}
			for i := range nTopics {
				if (w+i)%2 == 0 {
					p.try(fmt.Sprintf("REGISTER %s w%d", topicName(i), w))
				}
			}
		}()
	}
	wg.Wait()
	expected := func(workerOK func(w int) bool) map[string]string {
		out := map[string]string{}
		for i := range nTopics {
			var want []string
			for w := range workers {
				if (w+i)%2 == 0 && workerOK(w) {
					want = append(want, fmt.Sprintf("w%d:%d", w, 4000+w))
				}
			}
			out[topicName(i)] = strings.Join(want, ",")
		}
		return out
	}
	for topic, want := range expected(func(int) bool { return true }) {
		expectEq(t, "producers of "+topic, producerAddrs(t, n, strings.ReplaceAll(topic, "#", "%23")), want)
	}
	for w := range workers {
		for i := range nTopics {
			chans := channelsOf(t, n, strings.ReplaceAll(topicName(i), "#", "%23"))
			if has := strings.Contains(","+chans+",", fmt.Sprintf(",w%d,", w)); has != ((w+i)%2 == 0) {
				t.Errorf("channels of %s = %q (worker %d)", topicName(i), chans, w)
			}
		}
	}
	if nodes := nodesOf(t, n); len(nodes) != workers {
		t.Fatalf("%d nodes, want %d", len(nodes), workers)
	}

	// odd workers disconnect
	for w := 1; w < workers; w += 2 {
		peers[w].conn.Close()
	}
	want := expected(func(w int) bool { return w%2 == 0 })
	eventually(t, func() bool {
		for topic, addrs := range want {
			if producerAddrs(t, n, strings.ReplaceAll(topic, "#", "%23")) != addrs {
				return false
			}
		}
		return len(nodesOf(t, n)) == workers/2
	}, "disconnected workers still listed")
	stillServing(t, n)
}
