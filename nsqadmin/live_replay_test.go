package nsqadmin

import (
	"fmt"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// TestLiveReplayAPI drives rewind and create-from through nsqadmin
// against a real nsqd in log storage and one in diskqueue mode.
func TestLiveReplayAPI(t *testing.T) {
	l := lookupdtest.Start(t)
	c := &liveCluster{lookupd: l}
	c.nsqds = append(c.nsqds, startNSQD(t, l.RealTCPAddr().String(), logStorage(t)))
	c.createChannel(t, 0, "events", "work")
	c.publish(t, 0, "events", 10)
	// a boundary strictly between the two batches' publish times
	first := time.Now()
	testutil.Eventually(t, 5*time.Second, func() bool { return time.Since(first) > 5*time.Millisecond }, "time to pass")
	boundary := time.Now().UnixMilli()
	testutil.Eventually(t, 5*time.Second, func() bool { return time.Now().UnixMilli() > boundary+5 }, "time to pass")
	c.publish(t, 0, "events", 7)
	c.waitProducers(t, "events", 1)
	a := startAdmin(t, c.lookupdMode)

	r := getOK(t, a.url+"/api/replay/events")
	if r["enabled"] != true || num(r["log_nodes"]) != 1 || num(r["retained_from_ms"]) == 0 {
		t.Errorf("replay status %v", r)
	}
	work := a.url + "/api/topics/events/work"
	// consume and finish everything, then go back to the boundary: the
	// second batch is delivered again
	cons := c.consume(t, 0, "events", "work", "worker", nil)
	testutil.Eventually(t, 30*time.Second, func() bool {
		ch := c.stats(t, 0, "events").Channels[0]
		return ch.MessageCount == 17 && ch.Depth == 0 && ch.InFlightCount == 0
	}, "17 messages consumed and finished")
	cons.Stop()
	<-cons.StopChan
	rw := call(t, "POST", work, map[string]any{"action": "rewind", "to": fmt.Sprint(boundary), "dry_run": true})
	if rw.status != 200 || num(rw.json["messages"]) != 7 || rw.message() != "" {
		t.Fatalf("dry run: %d %s", rw.status, rw.body)
	}
	if d := c.stats(t, 0, "events").Channels[0].Depth; d != 0 {
		t.Errorf("depth %d after a dry run, want 0", d)
	}
	rw = call(t, "POST", work, map[string]any{"action": "rewind", "to": fmt.Sprint(boundary)})
	if rw.status != 200 || num(rw.json["messages"]) != 7 {
		t.Fatalf("rewind to the boundary: %d %s", rw.status, rw.body)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return c.stats(t, 0, "events").Channels[0].Depth == 7 }, "depth 7 after the rewind")

	cr := call(t, "POST", a.url+"/api/topics", map[string]any{"topic": "events", "channel": "replica", "start": "earliest", "dry_run": true})
	if cr.status != 200 || num(cr.json["messages"]) != 17 {
		t.Errorf("create-from dry run: %d %s", cr.status, cr.body)
	}
	cr = call(t, "POST", a.url+"/api/topics", map[string]any{"topic": "events", "channel": "replica", "start": "earliest"})
	if cr.status != 200 || num(cr.json["messages"]) != 17 {
		t.Fatalf("create-from: %d %s", cr.status, cr.body)
	}
	if cr := call(t, "POST", a.url+"/api/topics", map[string]any{"topic": "events", "channel": "replica", "start": "earliest"}); cr.status != 400 || cr.message() != "CHANNEL_EXISTS" {
		t.Errorf("again: %d %s", cr.status, cr.body)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		s := c.stats(t, 0, "events")
		return len(s.Channels) == 2 && s.Channels[0].ChannelName == "replica" && s.Channels[0].Depth == 17
	}, "replica with 17 messages")

	t.Run("diskqueue mode", func(t *testing.T) {
		dq := &liveCluster{lookupd: l}
		dq.nsqds = append(dq.nsqds, startNSQD(t, l.RealTCPAddr().String()))
		dq.createChannel(t, 0, "plain", "work")
		dq.waitProducers(t, "plain", 1)
		r := call(t, "POST", a.url+"/api/topics/plain/work", map[string]any{"action": "rewind", "to": "earliest", "dry_run": true})
		if r.status != 400 || r.message() != "REPLAY_REQUIRES_LOG_STORAGE" {
			t.Errorf("rewind: %d %s", r.status, r.body)
		}
		if s := getOK(t, a.url+"/api/replay/plain"); s["enabled"] != false || s["reason"] == "" {
			t.Errorf("status %v", s)
		}
	})
}
