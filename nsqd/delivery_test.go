package nsqd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/protocol"
	"github.com/dropin/nsq/internal/testutil"
)

func TestRDYLimitsInFlight(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "rdy", "c", 0)
	publish(t, n, "rdy", "1", "2", "3", "4", "5")
	cs := channelStatsOf(t, n, "rdy", "c")
	if cs.InFlightCount != 0 || cs.Clients[0].ReadyCount != 0 {
		t.Fatalf("RDY 0 delivered: %+v", cs)
	}
	sub.cmd("RDY") // no argument means 1
	m1 := sub.readMsg()
	eventually(t, func() bool { return channelStatsOf(t, n, "rdy", "c").InFlightCount == 1 }, "one in flight")
	sub.cmd("RDY 3")
	got := []testMsg{m1, sub.readMsg(), sub.readMsg()}
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "rdy", "c")
		return cs.InFlightCount == 3 && cs.Clients[0].ReadyCount == 3 && cs.Depth == 2
	}, "RDY 3 caps in flight at 3")
	sub.cmd("RDY 0")
	for _, m := range got {
		sub.cmd("FIN " + m.id)
	}
	eventually(t, func() bool { return channelStatsOf(t, n, "rdy", "c").InFlightCount == 0 }, "FINs processed")
	if cs := channelStatsOf(t, n, "rdy", "c"); cs.Depth != 2 {
		t.Fatalf("RDY 0 still delivered: %+v", cs)
	}
	sub.cmd("RDY 10")
	for i := 0; i < 2; i++ {
		sub.cmd("FIN " + sub.readMsg().id)
	}
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "rdy", "c")
		return cs.Depth == 0 && cs.InFlightCount == 0 && cs.Clients[0].FinishCount == 5
	}, "all finished")
}

func TestMsgTimeoutRedelivers(t *testing.T) {
	opts := testOptions(t)
	opts.QueueScanInterval = 10 * time.Millisecond
	n := startNSQD(t, opts)
	sub := dial(t, n)
	sub.identify(map[string]any{"msg_timeout": 1000})
	sub.cmd("SUB to c")
	sub.expectOK()
	sub.cmd("RDY 5")
	publish(t, n, "to", "late")
	first := sub.readMsg()
	second := sub.readMsg() // after the 1 s timeout
	if second.id != first.id || second.attempts != 2 || second.body != "late" {
		t.Fatalf("first %+v second %+v", first, second)
	}
	sub.cmd("FIN " + first.id)
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "to", "c")
		return cs.TimeoutCount == 1 && cs.InFlightCount == 0
	}, "timeout counted")
}

// TestTouchExtends keeps a message in flight for twice its msg_timeout by
// touching it. The timeout is 2 s and a touch goes out every 200 ms, so
// only a stall of ~1.8 s could let it expire; a run in which the touches
// themselves were that late says so instead of blaming nsqd.
func TestTouchExtends(t *testing.T) {
	const msgTimeout = 2 * time.Second
	opts := testOptions(t)
	opts.QueueScanInterval = 10 * time.Millisecond
	n := startNSQD(t, opts)
	sub := dial(t, n)
	sub.identify(map[string]any{"msg_timeout": msgTimeout.Milliseconds()})
	sub.cmd("SUB touch c")
	sub.expectOK()
	sub.cmd("RDY 1")
	publish(t, n, "touch", "x")
	m := sub.readMsg()
	delivered := time.Now() // the deadline was set before this
	var maxGap time.Duration
	last := delivered
	for time.Since(delivered) < 2*msgTimeout {
		sub.cmd("TOUCH " + m.id)
		if gap := time.Since(last); gap > maxGap {
			maxGap = gap
		}
		last = time.Now()
		time.Sleep(200 * time.Millisecond)
	}
	sub.cmd("FIN " + m.id)
	sub.cmd("NOP")
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "touch", "c")
		return cs.Clients[0].FinishCount == 1 || cs.TimeoutCount > 0
	}, "FIN after touches")
	if cs := channelStatsOf(t, n, "touch", "c"); cs.TimeoutCount != 0 {
		if maxGap > msgTimeout/2 {
			testutil.Skip(t, fmt.Sprintf("inconclusive: the machine stalled the touches for %s (msg_timeout %s)", maxGap, msgTimeout))
		}
		t.Fatalf("touched message timed out (touches at most %s apart): %+v", maxGap, cs)
	}
}

// TestTouchCappedByMaxMsgTimeout: touches cannot keep a message past
// --max-msg-timeout after its delivery; it comes back, and not before.
func TestTouchCappedByMaxMsgTimeout(t *testing.T) {
	opts := testOptions(t)
	opts.QueueScanInterval = 10 * time.Millisecond
	opts.MsgTimeout = time.Second
	opts.MaxMsgTimeout = 1500 * time.Millisecond
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "cap", "c", 1)
	sent := time.Now()
	publish(t, n, "cap", "x")
	m := sub.readMsg()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				// errors end the test through readMsg below
				sub.conn.Write([]byte("TOUCH " + m.id + "\n"))
			}
		}
	}()
	again := sub.readMsg() // redelivered despite touches
	close(stop)
	<-stopped
	if again.id != m.id || again.attempts != 2 {
		t.Fatalf("got %+v", again)
	}
	if d := time.Since(sent); d < opts.MaxMsgTimeout {
		t.Fatalf("redelivered %s after the publish, before --max-msg-timeout %s", d, opts.MaxMsgTimeout)
	}
}

func TestREQ(t *testing.T) {
	opts := testOptions(t)
	opts.QueueScanInterval = 10 * time.Millisecond
	opts.MaxReqTimeout = 3 * time.Second
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "req", "c", 10)
	publish(t, n, "req", "a")
	m := sub.readMsg()
	sub.cmd("REQ " + m.id + " 0")
	m2 := sub.readMsg()
	if m2.id != m.id || m2.attempts != 2 {
		t.Fatalf("REQ 0: %+v", m2)
	}
	// deferred: counted as deferred while the delay runs, not redelivered
	// before it ends. The PUB after the REQ on the same connection makes
	// sure the REQ was processed before /stats is asked.
	const delay = 3 * time.Second // = --max-req-timeout
	sent := time.Now()
	sub.cmd(fmt.Sprintf("REQ %s %d", m.id, delay.Milliseconds()))
	sub.cmd("PUB req-sync", []byte("x"))
	sub.expectOK()
	cs := channelStatsOf(t, n, "req", "c")
	if time.Since(sent) < delay && (cs.DeferredCount != 1 || cs.InFlightCount != 0) {
		t.Fatalf("REQ %d: not deferred: %+v", delay.Milliseconds(), cs)
	}
	m3 := sub.readMsg()
	if m3.id != m.id || m3.attempts != 3 {
		t.Fatalf("REQ %d: %+v", delay.Milliseconds(), m3)
	}
	if d := time.Since(sent); d < delay {
		t.Fatalf("REQ %d: back after %s", delay.Milliseconds(), d)
	}
	// a delay above --max-req-timeout is clamped, not refused
	sent = time.Now()
	sub.cmd("REQ " + m.id + " 999999999")
	m4 := sub.readMsg()
	if m4.attempts != 4 {
		t.Fatalf("clamped REQ: %+v", m4)
	}
	if d := time.Since(sent); d < opts.MaxReqTimeout {
		t.Fatalf("clamped REQ back after %s, before --max-req-timeout %s", d, opts.MaxReqTimeout)
	}
	sub.cmd("FIN " + m.id)
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "req", "c")
		return cs.RequeueCount == 3 && cs.Clients[0].RequeueCount == 3 && cs.InFlightCount == 0
	}, "requeue counts")
}

// TestDisconnectDoesNotRequeueUntilTimeout: a message in flight to a
// client that disconnects stays in flight until its msg_timeout, then goes
// to another subscriber as a timeout.
func TestDisconnectDoesNotRequeueUntilTimeout(t *testing.T) {
	const msgTimeout = 3 * time.Second
	opts := testOptions(t)
	opts.QueueScanInterval = 10 * time.Millisecond
	n := startNSQD(t, opts)
	a := dial(t, n)
	a.identify(map[string]any{"msg_timeout": msgTimeout.Milliseconds()})
	a.cmd("SUB disc c")
	a.expectOK()
	a.cmd("RDY 1")
	published := time.Now() // before the delivery that set the deadline
	publish(t, n, "disc", "x")
	m := a.readMsg()
	a.conn.Close()
	eventually(t, func() bool { return channelStatsOf(t, n, "disc", "c").ClientCount == 0 }, "client gone")
	cs := channelStatsOf(t, n, "disc", "c")
	// only a check made before the timeout could pass says anything
	if time.Since(published) < msgTimeout && cs.InFlightCount != 1 {
		t.Fatalf("in flight dropped at disconnect: %+v", cs)
	}
	b := subscribe(t, n, "disc", "c", 1)
	again := b.readMsg()
	if again.id != m.id || again.attempts != 2 {
		t.Fatalf("got %+v", again)
	}
	if d := time.Since(published); d < msgTimeout {
		t.Fatalf("redelivered %s after the publish, before the %s msg_timeout", d, msgTimeout)
	}
	if cs := channelStatsOf(t, n, "disc", "c"); cs.TimeoutCount != 1 || cs.RequeueCount != 0 {
		t.Fatalf("want one timeout and no requeue: %+v", cs)
	}
}

// TestHeartbeats: a client that never answers the heartbeats gets them
// and is closed after two missed intervals, subscribed or not.
func TestHeartbeats(t *testing.T) {
	const hb = time.Second
	n := startNSQD(t, testOptions(t))
	for _, sub := range []bool{false, true} {
		t.Run(fmt.Sprintf("sub=%v", sub), func(t *testing.T) {
			c := dial(t, n)
			lastSent := time.Now()
			c.identify(map[string]any{"heartbeat_interval": hb.Milliseconds()})
			if sub {
				lastSent = time.Now()
				c.cmd("SUB hb c")
				c.expectOK()
			}
			c.expectHeartbeatClose(lastSent, hb, 1, "")
		})
	}
}

func TestCLS(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "cls", "c", 1)
	publish(t, n, "cls", "a", "b")
	m := sub.readMsg()
	sub.cmd("CLS")
	sub.expect(protocol.FrameTypeResponse, "CLOSE_WAIT")
	sub.cmd("RDY 10") // ignored without a reply
	sub.cmd("FIN " + m.id)
	sub.cmd("PUB cls", []byte("c"))
	sub.expectOK() // still open, and nothing else was delivered
	cs := channelStatsOf(t, n, "cls", "c")
	if cs.Clients[0].State != stateClosing || cs.Clients[0].FinishCount != 1 || cs.InFlightCount != 0 || cs.Depth != 2 {
		t.Fatalf("after CLS: %+v %+v", cs, cs.Clients[0])
	}
}

func TestPausedChannel(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	if code, body, _ := httpDo(t, n, "POST", "/topic/create?topic=pz", ""); code != 200 {
		t.Fatal(code, body)
	}
	httpDo(t, n, "POST", "/channel/create?topic=pz&channel=c", "")
	if code, body, _ := httpDo(t, n, "POST", "/channel/pause?topic=pz&channel=c", ""); code != 200 {
		t.Fatal(code, body)
	}
	sub := subscribe(t, n, "pz", "c", 5)
	publish(t, n, "pz", "x")
	cs := channelStatsOf(t, n, "pz", "c")
	if !cs.Paused || cs.Depth != 1 || cs.InFlightCount != 0 {
		t.Fatalf("paused channel delivered: %+v", cs)
	}
	httpDo(t, n, "POST", "/channel/unpause?topic=pz&channel=c", "")
	if m := sub.readMsg(); m.body != "x" {
		t.Fatal(m)
	}
}

func TestPausedTopic(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "pt", "c", 5)
	httpDo(t, n, "POST", "/topic/pause?topic=pt", "")
	publish(t, n, "pt", "1", "2")
	ts := getStats(t, n, "&topic=pt").Topics[0]
	if !ts.Paused || ts.Depth != 2 || ts.Channels[0].MessageCount != 0 {
		t.Fatalf("paused topic copied: %+v", ts)
	}
	httpDo(t, n, "POST", "/topic/unpause?topic=pt", "")
	for _, want := range []string{"1", "2"} {
		if m := sub.readMsg(); m.body != want {
			t.Fatalf("got %q want %q", m.body, want)
		}
	}
}

func TestMessagesBeforeChannel(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	publish(t, n, "early", "1", "2", "3")
	if d := getStats(t, n, "&topic=early").Topics[0].Depth; d != 3 {
		t.Fatalf("topic depth %d", d)
	}
	sub := subscribe(t, n, "early", "first", 10)
	for _, want := range []string{"1", "2", "3"} {
		if m := sub.readMsg(); m.body != want {
			t.Fatalf("got %q want %q", m.body, want)
		}
	}
	// a later channel only gets later messages
	late := subscribe(t, n, "early", "second", 10)
	publish(t, n, "early", "4")
	if m := late.readMsg(); m.body != "4" {
		t.Fatalf("second channel got %q", m.body)
	}
	if m := sub.readMsg(); m.body != "4" {
		t.Fatalf("first channel got %q", m.body)
	}
}

func TestFanOutAndSharing(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	a1 := subscribe(t, n, "fan", "a", 100)
	a2 := subscribe(t, n, "fan", "a", 100)
	b := subscribe(t, n, "fan", "b", 100)
	const total = 200
	bodies := make([]string, total)
	for i := range bodies {
		bodies[i] = fmt.Sprint(i)
	}
	c := dial(t, n)
	c.cmd("MPUB fan", mpubBody(bodies...))
	c.expectOK()
	gotB := map[string]bool{}
	for i := 0; i < total; i++ {
		m := b.readMsg()
		gotB[m.body] = true
		b.cmd("FIN " + m.id)
	}
	if len(gotB) != total {
		t.Fatalf("channel b got %d distinct", len(gotB))
	}
	// channel a's messages are split between its two subscribers, each once
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "fan", "a")
		return cs.Depth == 0 && cs.InFlightCount == total
	}, "channel a delivered everything")
	cs := channelStatsOf(t, n, "fan", "a")
	if cs.Clients[0].MessageCount+cs.Clients[1].MessageCount != total {
		t.Fatalf("split %d + %d", cs.Clients[0].MessageCount, cs.Clients[1].MessageCount)
	}
	a1.conn.Close()
	a2.conn.Close()
}

func TestEphemeral(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 2
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "eph#ephemeral", "c#ephemeral", 0)
	publish(t, n, "eph#ephemeral", "1", "2", "3", "4")
	// memory holds 2; the rest of an ephemeral channel's overflow is dropped
	cs := channelStatsOf(t, n, "eph#ephemeral", "c#ephemeral")
	if cs.Depth != 2 || cs.BackendDepth != 0 {
		t.Fatalf("ephemeral overflow: %+v", cs)
	}
	sub.conn.Close()
	eventually(t, func() bool {
		_, err := n.GetExistingTopic("eph#ephemeral")
		return err != nil
	}, "ephemeral topic removed with its last channel")
	entries, _ := readDirNames(opts.DataPath)
	for _, e := range entries {
		if !strings.HasPrefix(e, "nsqd.dat") { // nsqd.dat and its temp file while being rewritten
			t.Fatalf("ephemeral data on disk: %v", entries)
		}
	}
}

func TestMaxChannelConsumers(t *testing.T) {
	opts := testOptions(t)
	opts.MaxChannelConsumers = 1
	n := startNSQD(t, opts)
	subscribe(t, n, "max", "c", 0)
	c := dial(t, n)
	c.cmd("SUB max c")
	c.expectError("E_SUB_FAILED SUB failed consumers for max:c exceeds limit of 1")
	c.expectClosed()
	subscribe(t, n, "max", "other", 0)
}

func TestSampleRate(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := dial(t, n)
	sub.identify(map[string]any{"sample_rate": 10})
	sub.cmd("SUB sample c")
	sub.expectOK()
	sub.cmd("RDY 2500")
	bodies := make([]string, 1000)
	for i := range bodies {
		bodies[i] = "x"
	}
	c := dial(t, n)
	c.cmd("MPUB sample", mpubBody(bodies...))
	c.expectOK()
	eventually(t, func() bool { return channelStatsOf(t, n, "sample", "c").Depth == 0 }, "queue drained")
	cs := channelStatsOf(t, n, "sample", "c")
	// about 11% delivered; the odds of 0 or all 1000 are nil
	if cs.InFlightCount == 0 || cs.InFlightCount >= 500 {
		t.Fatalf("sample_rate 10 delivered %d of 1000", cs.InFlightCount)
	}
}

// TestDeferredPublish: DPUB 0 is delivered at once, a deferred message
// not before its deferral. Both go out in one write, so only a stall of
// the whole 2 s deferral between two pipelined commands could reorder
// them.
func TestDeferredPublish(t *testing.T) {
	const deferral = 2 * time.Second
	opts := testOptions(t)
	opts.QueueScanInterval = 10 * time.Millisecond
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "dpub", "c", 5)
	c := dial(t, n)
	sent := time.Now()
	var b []byte
	b = append(b, fmt.Sprintf("DPUB dpub %d\n", deferral.Milliseconds())...)
	b = append(b, sized([]byte("later"))...)
	b = append(b, "DPUB dpub 0\n"...)
	b = append(b, sized([]byte("now"))...)
	c.send(b)
	c.expectOK()
	c.expectOK()
	first, second := sub.readMsg(), sub.readMsg()
	if d := time.Since(sent); d < deferral {
		t.Fatalf("both delivered %s after DPUB %d", d, deferral.Milliseconds())
	}
	if first.body != "now" || second.body != "later" {
		t.Fatalf("DPUB 0 should behave like PUB and come first: got %q then %q", first.body, second.body)
	}
}

// TestMemoryOverflowToDisk: a backlog larger than --mem-queue-size goes
// to disk and comes back whole and in order.
func TestMemoryOverflowToDisk(t *testing.T) {
	for _, size := range []int64{0, 5} {
		t.Run(fmt.Sprint("mem=", size), func(t *testing.T) {
			opts := testOptions(t)
			opts.MemQueueSize = size
			n := startNSQD(t, opts)
			httpDo(t, n, "POST", "/topic/create?topic=disk", "")
			httpDo(t, n, "POST", "/channel/create?topic=disk&channel=c", "")
			const total = 100
			bodies := make([]string, total)
			for i := range bodies {
				bodies[i] = fmt.Sprint(i)
			}
			c := dial(t, n)
			c.cmd("MPUB disk", mpubBody(bodies...))
			c.expectOK()
			cs := channelStatsOf(t, n, "disk", "c")
			if cs.Depth != total || cs.BackendDepth < total-size-1 {
				t.Fatalf("stats %+v", cs)
			}
			// one subscriber, no requeues, everything published before it
			// came: memory and disk hand the messages out in publish order
			sub := subscribe(t, n, "disk", "c", 10)
			for i := 0; i < total; i++ {
				m := sub.readMsg()
				if m.body != bodies[i] {
					t.Fatalf("message %d is %q, want %q", i, m.body, bodies[i])
				}
				sub.cmd("FIN " + m.id)
			}
		})
	}
}

// TestPublishWhileBacklogged: a message published while older ones wait
// on disk, and memory has room again, queues behind them instead of
// overtaking them (NSQ promises no order here; see "Order" in doc.go):
// in the channel (it existed before the publish) and in the topic (no
// channel until the SUB, so the topic's pump holds the backlog).
func TestPublishWhileBacklogged(t *testing.T) {
	for _, tc := range []struct {
		name          string
		channelBefore bool
	}{{"channel backlog", true}, {"topic backlog", false}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.MemQueueSize = 5
			n := startNSQD(t, opts)
			if tc.channelBefore {
				for _, path := range []string{"/topic/create?topic=backlog", "/channel/create?topic=backlog&channel=c"} {
					if code, body, _ := httpDo(t, n, "POST", path, ""); code != 200 {
						t.Fatalf("POST %s: %d %s", path, code, body)
					}
				}
			}
			const total = 40
			bodies := make([]string, total)
			for i := range bodies {
				bodies[i] = fmt.Sprint(i)
			}
			p := dial(t, n)
			p.cmd("MPUB backlog", mpubBody(bodies...))
			p.expectOK()
			sub := subscribe(t, n, "backlog", "c", 1)
			var got []string
			for i := 0; i < total+1; i++ {
				m := sub.readMsg()
				got = append(got, m.body)
				if i == 0 {
					p.cmd("PUB backlog", []byte("new")) // memory has room again
					p.expectOK()
				}
				sub.cmd("FIN " + m.id)
			}
			if want := append(append([]string(nil), bodies...), "new"); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("got %v, want publish order", got)
			}
		})
	}
}

func TestEmptyChannelResetsInFlight(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "emp", "c", 1)
	publish(t, n, "emp", "a", "b")
	m := sub.readMsg()
	if code, body, _ := httpDo(t, n, "POST", "/channel/empty?topic=emp&channel=c", ""); code != 200 {
		t.Fatal(code, body)
	}
	sub.cmd("FIN " + m.id)
	sub.expectError("E_FIN_FAILED FIN " + m.id + " failed ID not in flight")
	cs := channelStatsOf(t, n, "emp", "c")
	if cs.Depth != 0 || cs.InFlightCount != 0 || cs.Clients[0].InFlightCount != 0 {
		t.Fatalf("after empty: %+v", cs)
	}
	publish(t, n, "emp", "c")
	if m := sub.readMsg(); m.body != "c" {
		t.Fatal(m)
	}
}

func TestDeleteChannelDisconnects(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "del", "c", 1)
	if code, body, _ := httpDo(t, n, "POST", "/channel/delete?topic=del&channel=c", ""); code != 200 {
		t.Fatal(code, body)
	}
	sub.expectClosed()
	sub2 := subscribe(t, n, "del", "c2", 1)
	httpDo(t, n, "POST", "/topic/delete?topic=del", "")
	sub2.expectClosed()
	if _, err := n.GetExistingTopic("del"); err == nil {
		t.Fatal("topic still exists")
	}
}

func TestOutputBufferUnbuffered(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := dial(t, n)
	f := sub.identify(map[string]any{"output_buffer_size": -1, "feature_negotiation": true})
	if f.typ != protocol.FrameTypeResponse {
		t.Fatal(f)
	}
	sub.cmd("SUB ob c")
	sub.expectOK()
	sub.cmd("RDY 10")
	publish(t, n, "ob", "1", "2", "3")
	for _, want := range []string{"1", "2", "3"} {
		if m := sub.readMsg(); m.body != want {
			t.Fatal(m)
		}
	}
}

// TestUnbufferedBatchOneWrite: an unbuffered client (output_buffer_size
// -1) still gets a batch of deliveries in one write, not a write for each
// frame header and another for each body. Five messages wait in the
// channel while RDY is 0; RDY 5 hands them out as one batch. The daemon
// runs in this process, so /proc/self/io's count of write calls shows how
// many it took: the test's RDY, one for the batch, a little room for
// anything else (ten more without the fix).
func TestUnbufferedBatchOneWrite(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := dial(t, n)
	f := sub.identify(map[string]any{"output_buffer_size": -1, "feature_negotiation": true})
	if f.typ != protocol.FrameTypeResponse || !strings.Contains(string(f.data), `"output_buffer_size":1,`) {
		t.Fatal(f)
	}
	sub.cmd("SUB ub c")
	sub.expectOK()
	if sub.r.Buffered() != 0 {
		t.Fatal("bytes left after SUB's OK")
	}
	p := dial(t, n)
	p.cmd("MPUB ub", mpubBody("m1", "m2", "m3", "m4", "m5"))
	p.expectOK()
	topic, err := n.GetExistingTopic("ub")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := topic.GetChannel("c")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return ch.Depth() == 5 }, "channel depth %d, want 5", ch.Depth())
	before := writeSyscalls(t)
	sub.cmd("RDY 5")
	for _, want := range []string{"m1", "m2", "m3", "m4", "m5"} {
		if m := sub.readMsg(); m.body != want {
			t.Fatal(m)
		}
	}
	if w := writeSyscalls(t) - before; w > 4 {
		t.Fatalf("%d write calls for RDY and one batch of five deliveries, want at most 4", w)
	}
}

// writeSyscalls is this process's count of write system calls so far.
func writeSyscalls(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no write-call count here: %s", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no syscw in /proc/self/io")
	return 0
}

// TestIdleSubscriberDoesNotSwallowWakeup: a subscriber that was waiting
// for messages and then sent RDY 0 must not keep a message from another
// waiting subscriber.
func TestIdleSubscriberDoesNotSwallowWakeup(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	backoff := subscribe(t, n, "swallow", "c", 1)
	// no periodic flush tick either, which would otherwise hide a lost
	// wakeup behind a 250 ms delay
	ready := dial(t, n)
	ready.identify(map[string]any{"output_buffer_timeout": -1})
	ready.cmd("SUB swallow c")
	ready.expectOK()
	ready.cmd("RDY 10")
	// both are idle and registered as waiting; then one backs off
	eventually(t, func() bool { return channelStatsOf(t, n, "swallow", "c").ClientCount == 2 }, "two subscribers")
	backoff.cmd("RDY 0")
	backoff.cmd("NOP")
	eventually(t, func() bool {
		for _, cl := range channelStatsOf(t, n, "swallow", "c").Clients {
			if cl.ReadyCount == 0 {
				return true
			}
		}
		return false
	}, "RDY 0 applied")
	// no FINs: only the publishes may wake the ready subscriber
	for i := 0; i < 5; i++ {
		publish(t, n, "swallow", fmt.Sprint(i))
		if m := ready.readMsg(); m.body != fmt.Sprint(i) {
			t.Fatalf("got %q", m.body)
		}
	}
}

// TestSingleFreedSlotIsFilled: a consumer that holds most of its RDY and
// finishes one message still gets the next queued one (at the latest at
// its output-buffer tick), even though one slot is below the batch
// threshold that wakes the delivery loop at once.
func TestSingleFreedSlotIsFilled(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "slot", "c", 16)
	bodies := make([]string, 20)
	for i := range bodies {
		bodies[i] = fmt.Sprint(i)
	}
	p := dial(t, n)
	p.cmd("MPUB slot", mpubBody(bodies...))
	p.expectOK()
	var first testMsg
	for i := 0; i < 16; i++ {
		m := sub.readMsg()
		if i == 0 {
			first = m
		}
	}
	sub.cmd("FIN " + first.id)
	if m := sub.readMsg(); m.body != "16" {
		t.Fatalf("got %q", m.body)
	}
}

func TestTopologyAwareExperiment(t *testing.T) {
	opts := testOptions(t)
	opts.TopologyZone, opts.TopologyRegion = "z1", "r1"
	opts.Experiments = []string{"topology-aware-consumption"}
	n := startNSQD(t, opts)
	local := dial(t, n)
	local.identify(map[string]any{"topology_zone": "z1", "topology_region": "r1"})
	local.cmd("SUB topo c")
	local.expectOK()
	local.cmd("RDY 100")
	remote := dial(t, n)
	remote.identify(map[string]any{"topology_zone": "z9", "topology_region": "r1"})
	remote.cmd("SUB topo c")
	remote.expectOK()
	remote.cmd("RDY 100")
	eventually(t, func() bool { return channelStatsOf(t, n, "topo", "c").ClientCount == 2 }, "both subscribed")
	publish(t, n, "topo", "1", "2", "3", "4", "5", "6")
	eventually(t, func() bool { return channelStatsOf(t, n, "topo", "c").InFlightCount == 6 }, "all delivered")
	cs := channelStatsOf(t, n, "topo", "c")
	var localGot, remoteGot uint64
	for _, cl := range cs.Clients {
		if cl.TopologyZone == "z1" {
			localGot = cl.MessageCount
		} else {
			remoteGot = cl.MessageCount
		}
	}
	// zone-local deliveries are counted as such, the other zone's as
	// region-local; nothing is "global"
	if cs.ZoneLocalCount != localGot || cs.RegionLocalCount != remoteGot || cs.GlobalCount != 0 || localGot == 0 {
		t.Fatalf("zone %d region %d global %d; local client got %d, remote %d",
			cs.ZoneLocalCount, cs.RegionLocalCount, cs.GlobalCount, localGot, remoteGot)
	}
}
