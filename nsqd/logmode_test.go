package nsqd

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/protocol"
)

func logOptions(tb testing.TB, syncAck bool) *Options {
	tb.Helper()
	opts := testOptions(tb)
	opts.Storage = StorageLog
	opts.SyncAck = syncAck
	return opts
}

// TestLogCleanRestart: queued, in-flight, REQ-deferred and DPUB messages,
// a paused channel; after a clean stop the new daemon has them all, the
// deferred ones still deferred (unlike diskqueue mode, the log keeps due
// times) and the in-flight one with its attempts.
func TestLogCleanRestart(t *testing.T) {
	for _, syncAck := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync-ack=%v", syncAck), func(t *testing.T) {
			opts := logOptions(t, syncAck)
			n, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			go n.Main()
			a := subscribe(t, n, "keep", "a", 0)
			httpDo(t, n, "POST", "/channel/create?topic=keep&channel=b", "")
			bodies := []string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"}
			publish(t, n, "keep", bodies...)
			c := dial(t, n)
			c.cmd("DPUB keep 600000", []byte("deferred"))
			c.expectOK()
			a.cmd("RDY 2")
			inflight := a.readMsg()
			second := a.readMsg()
			a.cmd("REQ " + second.id + " 600000")
			eventually(t, func() bool {
				cs := channelStatsOf(t, n, "keep", "a")
				return cs.InFlightCount == 2 && cs.DeferredCount == 2
			}, "one in flight (two were sent), two deferred")
			if code, body, _ := httpDo(t, n, "POST", "/channel/pause?topic=keep&channel=b", ""); code != 200 {
				t.Fatal(code, body)
			}
			n.Exit()
			if _, err := os.Stat(filepath.Join(opts.DataPath, "nsqd.dat")); err == nil {
				t.Error("log mode wrote nsqd.dat")
			}
			if m, _ := filepath.Glob(filepath.Join(opts.DataPath, "*.diskqueue.*")); len(m) > 0 {
				t.Errorf("log mode wrote disk queues: %v", m)
			}

			n2 := startNSQD(t, opts)
			cs := channelStatsOf(t, n2, "keep", "b")
			if cs == nil || !cs.Paused {
				t.Fatalf("channel b after restart: %+v", cs)
			}
			eventually(t, func() bool {
				cs := channelStatsOf(t, n2, "keep", "b")
				return cs.Depth == int64(len(bodies)) && cs.DeferredCount == 1
			}, "b holds 8 and the DPUB deferred")
			eventually(t, func() bool {
				cs := channelStatsOf(t, n2, "keep", "a")
				return cs.Depth == int64(len(bodies)-1) && cs.DeferredCount == 2
			}, "a holds 7 and two deferred")
			httpDo(t, n2, "POST", "/channel/unpause?topic=keep&channel=b", "")
			for _, ch := range []string{"a", "b"} {
				sub := subscribe(t, n2, "keep", ch, 100)
				want := append([]string{}, bodies...)
				if ch == "a" {
					want = append(want[:0:0], bodies...)
					for i, b := range want {
						if b == second.body {
							want = append(want[:i], want[i+1:]...)
							break
						}
					}
				}
				var got []string
				for range want {
					m := sub.readMsg()
					got = append(got, m.body)
					if ch == "a" && m.id == inflight.id && m.attempts != 2 {
						t.Errorf("in-flight message came back with attempts %d, want 2", m.attempts)
					}
					sub.cmd("FIN " + m.id)
				}
				sort.Strings(got)
				sort.Strings(want)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("channel %s after restart got %v, want %v", ch, got, want)
				}
			}
		})
	}
}

// TestLogStateChanges: create, pause, empty and delete go through the log
// and are there after a restart; ephemeral names stay off it.
func TestLogStateChanges(t *testing.T) {
	opts := logOptions(t, false)
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go n.Main()
	for _, p := range []string{
		"/topic/create?topic=t1", "/channel/create?topic=t1&channel=c1", "/channel/create?topic=t1&channel=c2",
		"/channel/create?topic=t1&channel=e%23ephemeral", "/topic/create?topic=gone", "/topic/create?topic=x%23ephemeral",
		"/topic/pause?topic=t1", "/channel/pause?topic=t1&channel=c1",
	} {
		if code, body, _ := httpDo(t, n, "POST", p, ""); code != 200 {
			t.Fatal(p, code, body)
		}
	}
	if code, body, _ := httpDo(t, n, "POST", "/pub?topic=t1", "m"); code != 200 {
		t.Fatal(code, body)
	}
	httpDo(t, n, "POST", "/channel/empty?topic=t1&channel=c2", "")
	httpDo(t, n, "POST", "/channel/delete?topic=t1&channel=c2", "")
	httpDo(t, n, "POST", "/channel/create?topic=t1&channel=c2", "")
	httpDo(t, n, "POST", "/topic/delete?topic=gone", "")
	n.Exit()

	n2 := startNSQD(t, opts)
	s := getStats(t, n2, "")
	var got []string
	for _, tp := range s.Topics {
		line := fmt.Sprintf("%s paused=%v", tp.TopicName, tp.Paused)
		for _, c := range tp.Channels {
			line += fmt.Sprintf(" %s(paused=%v)", c.ChannelName, c.Paused)
		}
		got = append(got, line)
	}
	if want := "t1 paused=true c1(paused=true) c2(paused=false)"; strings.Join(got, ";") != want {
		t.Fatalf("after restart: %q, want %q", strings.Join(got, ";"), want)
	}
	httpDo(t, n2, "POST", "/topic/unpause?topic=t1", "")
	httpDo(t, n2, "POST", "/channel/unpause?topic=t1&channel=c1", "")
	sub := subscribe(t, n2, "t1", "c1", 10)
	if m := sub.readMsg(); m.body != "m" {
		t.Fatalf("c1 got %q", m.body)
	}
	// c2 was created again after the publish: it starts at the tail
	if cs := channelStatsOf(t, n2, "t1", "c2"); cs.Depth != 0 {
		t.Fatalf("c2 depth %d", cs.Depth)
	}
}

// TestLogRefusesOtherFormat: a log directory is refused in diskqueue mode
// (no switching back), and NSQ disk queues beside an existing log are
// refused in log mode, each with a message that says why.
func TestLogRefusesOtherFormat(t *testing.T) {
	opts := logOptions(t, false)
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	n.Exit()
	dq := testOptions(t)
	dq.DataPath = opts.DataPath
	if _, err := New(dq); err == nil || !strings.Contains(err.Error(), "switching back to diskqueue is not supported") {
		t.Fatalf("diskqueue on a log dir: %v", err)
	}

	// NSQ disk queues beside an existing log are not imported into it
	writeNSQQueue(t, opts.DataPath, "late", bodies("x", 2), 0)
	if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "also NSQ disk queues") {
		t.Fatalf("log dir with NSQ queues: %v", err)
	}
	bad := testOptions(t)
	bad.Storage = "memory"
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "--storage must be diskqueue or log") {
		t.Fatalf("bad storage: %v", err)
	}
}

// TestSyncAckPipelined: many pipelined publishes and other commands on one
// connection are answered in order, each OK after its commit.
func TestSyncAckPipelined(t *testing.T) {
	n := startNSQD(t, logOptions(t, true))
	c := dial(t, n)
	c.cmd("SUB pipe c")
	c.expectOK()
	const count = 200
	var want []string
	for i := 0; i < count; i++ {
		switch i % 4 {
		case 0:
			c.send([]byte("PUB pipe\n"), sized([]byte(fmt.Sprint("p", i))))
			want = append(want, "OK")
		case 1:
			c.send([]byte("MPUB pipe\n"), sized(mpubBody("a", "b")))
			want = append(want, "OK")
		case 2:
			c.send([]byte("FIN 0123456789abcdef\n")) // not in flight: a non-fatal error
			want = append(want, "E_FIN_FAILED")
		case 3:
			c.send([]byte("DPUB pipe 10\n"), sized([]byte("d")))
			want = append(want, "OK")
		}
	}
	for i, w := range want {
		f := c.readFrame()
		if !strings.HasPrefix(string(f.data), w) {
			t.Fatalf("answer %d: %s, want %s", i, f, w)
		}
		if w == "E_FIN_FAILED" && f.typ != protocol.FrameTypeError {
			t.Fatalf("answer %d: %s", i, f)
		}
	}
	if cs := getStats(t, n, "&topic=pipe"); len(cs.Topics) != 1 || cs.Topics[0].MessageCount != uint64(count/4*4) {
		t.Fatalf("topic stats %+v", cs.Topics)
	}
}
