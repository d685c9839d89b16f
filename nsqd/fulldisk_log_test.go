package nsqd

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// Full disk in every storage mode: publishes are refused clearly (HTTP 503
// DISK_FULL, or 500 PUB_FAILED when a log write itself failed; TCP
// E_PUB_FAILED), nothing acknowledged is lost, publishing resumes once
// there is room. On a real, size-limited file system when the test can
// mount one (root), and everywhere with the free space the daemon sees
// replaced by the test's figure.

type fullDiskCase struct {
	name    string
	storage string
	syncAck bool
}

var fullDiskCases = []fullDiskCase{
	{"diskqueue", StorageDiskQueue, false},
	{"log", StorageLog, false},
	{"sync-ack", StorageLog, true},
}

func (fc fullDiskCase) options(tb testing.TB) *Options {
	opts := testOptions(tb)
	opts.Storage, opts.SyncAck = fc.storage, fc.syncAck
	opts.MemQueueSize = 50
	opts.MaxBytesPerFile = 64 << 10
	return opts
}

// pubLedger publishes numbered 1 KB messages over HTTP (PUB, and MPUB of
// 5 every third time) and TCP and records which were acknowledged.
type pubLedger struct {
	tb      testing.TB
	topic   string
	seq     int
	acked   map[string]bool
	refused map[string]bool
}

func newPubLedger(tb testing.TB, topic string) *pubLedger {
	return &pubLedger{tb: tb, topic: topic, acked: map[string]bool{}, refused: map[string]bool{}}
}

var fullDiskPad = strings.Repeat("x", 1000)

// once publishes one command and reports whether it was acknowledged; a
// refusal must be one of the documented answers.
func (l *pubLedger) once(n *NSQD) bool {
	l.tb.Helper()
	k := 1
	if l.seq%3 == 2 {
		k = 5
	}
	var bodies []string
	for i := 0; i < k; i++ {
		bodies = append(bodies, fmt.Sprintf("m%06d-%s", l.seq, fullDiskPad))
		l.seq++
	}
	var ok bool
	switch {
	case l.seq%7 == 0: // TCP
		c := dial(l.tb, n)
		c.cmd("PUB "+l.topic, []byte(bodies[0]))
		f := c.readFrame()
		c.conn.Close()
		ok = string(f.data) == "OK"
		if !ok && !strings.HasPrefix(string(f.data), "E_PUB_FAILED") {
			l.tb.Fatalf("TCP PUB on a full disk: %s", f)
		}
		bodies = bodies[:1]
	case k == 1:
		code, body, _ := httpDo(l.tb, n, "POST", "/pub?topic="+l.topic, bodies[0])
		ok = l.check(code, body)
	default:
		code, body, _ := httpDo(l.tb, n, "POST", "/mpub?topic="+l.topic, strings.Join(bodies, "\n"))
		ok = l.check(code, body)
	}
	for _, b := range bodies {
		if ok {
			l.acked[b[:7]] = true
		} else {
			l.refused[b[:7]] = true
		}
	}
	return ok
}

func (l *pubLedger) check(code int, body string) bool {
	l.tb.Helper()
	switch {
	case code == 200:
		return true
	case code == 503 && strings.Contains(body, "DISK_FULL"), code == 500 && strings.Contains(body, "PUB_FAILED"):
		return false
	}
	l.tb.Fatalf("HTTP publish on a full disk: %d %s", code, body)
	return false
}

// fill publishes until 30 publishes in a row were refused.
func (l *pubLedger) fill(n *NSQD, what string) {
	l.tb.Helper()
	failures := 0
	for i := 0; i < 20000 && failures < 30; i++ {
		if l.once(n) {
			failures = 0
		} else {
			failures++
		}
	}
	if failures < 30 {
		l.tb.Fatalf("%s never refused a publish", what)
	}
}

// verify reads every channel after a restart: each acknowledged message
// exactly once, none of a refused publish.
func (l *pubLedger) verify(n *NSQD, channels ...string) {
	l.tb.Helper()
	for _, ch := range channels {
		sub := subscribe(l.tb, n, l.topic, ch, 2500)
		got := map[string]bool{}
		for len(got) < len(l.acked) {
			f, err := sub.readFrameHB(false)
			if err != nil {
				break
			}
			key := string(f.data[26:33])
			sub.cmd("FIN " + string(f.data[10:26]))
			if got[key] {
				l.tb.Errorf("channel %s: %s delivered twice", ch, key)
			}
			if l.refused[key] {
				l.tb.Errorf("channel %s: %s of a refused publish delivered", ch, key)
			}
			got[key] = true
		}
		sub.conn.Close()
		l.tb.Logf("channel %s: acked %d, refused %d, kept %d", ch, len(l.acked), len(l.refused), len(got))
		if len(got) != len(l.acked) {
			l.tb.Errorf("channel %s: kept %d of %d acknowledged messages", ch, len(got), len(l.acked))
		}
	}
}

func createTopicChannels(tb testing.TB, n *NSQD, topic string, channels ...string) {
	tb.Helper()
	httpDo(tb, n, "POST", "/topic/create?topic="+topic, "")
	for _, ch := range channels {
		httpDo(tb, n, "POST", "/channel/create?topic="+topic+"&channel="+ch, "")
	}
}

// TestFullDiskTmpfsAllModes fills a 3 MB tmpfs in each mode, grows it
// (publishing resumes), fills it again, stops with the disk full, frees
// space, restarts and reads both channels.
func TestFullDiskTmpfsAllModes(t *testing.T) {
	for _, fc := range fullDiskCases {
		t.Run(fc.name, func(t *testing.T) {
			opts := fc.options(t)
			opts.DataPath = mountTmpfs(t, 3<<20)
			n := startNSQD(t, opts)
			createTopicChannels(t, n, "full", "a", "b")
			l := newPubLedger(t, "full")
			l.fill(n, "a 3 MB file system")
			resizeTmpfs(t, opts.DataPath, 5<<20)
			eventually(t, func() bool { return l.once(n) }, "publishing resumes once the file system has room")
			l.fill(n, "a 5 MB file system")
			n.Exit()
			resizeTmpfs(t, opts.DataPath, 64<<20)
			l.verify(startNSQD(t, opts), "a", "b")
		})
	}
}

// TestFullDiskReportedFree runs without root: the daemon is told the
// file system has no room left, then room again.
func TestFullDiskReportedFree(t *testing.T) {
	for _, fc := range fullDiskCases {
		t.Run(fc.name, func(t *testing.T) {
			opts := fc.options(t)
			var free atomic.Int64
			free.Store(1 << 40)
			n, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			// before Main: every goroutine that asks starts after this
			n.env.room.free = func() (int64, bool) { return free.Load(), true }
			done := make(chan error, 1)
			go func() { done <- n.Main() }()
			stopped := false
			stop := func() {
				if !stopped {
					stopped = true
					n.Exit()
					<-done
				}
			}
			t.Cleanup(stop)
			createTopicChannels(t, n, "full", "a", "b")
			l := newPubLedger(t, "full")
			for i := 0; i < 20; i++ {
				if !l.once(n) {
					t.Fatal("publish refused with room on the disk")
				}
			}
			free.Store(0)
			eventually(t, func() bool { return !l.once(n) }, "publishes refused once the disk is full")
			code, body, _ := httpDo(t, n, "GET", "/ping", "")
			if code == 200 {
				t.Errorf("/ping with the disk full: %d %s", code, body)
			}
			free.Store(1 << 40)
			eventually(t, func() bool { return l.once(n) }, "publishing resumes once there is room")
			for i := 0; i < 10; i++ {
				if !l.once(n) {
					t.Fatal("publish refused after room returned")
				}
			}
			eventually(t, func() bool {
				code, _, _ := httpDo(t, n, "GET", "/ping", "")
				return code == 200
			}, "/ping healthy again")
			stop()
			l.verify(startNSQD(t, opts), "a", "b")
		})
	}
}
