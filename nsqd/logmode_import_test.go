package nsqd

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	diskqueue "github.com/nsqio/go-diskqueue"
)

// nsqRecord is a message as NSQ's nsqd writes it into a disk queue.
func nsqRecord(id int, attempts uint16, body string) []byte {
	b := make([]byte, msgHeaderLength, msgHeaderLength+len(body))
	binary.BigEndian.PutUint64(b[0:8], uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint16(b[8:10], attempts)
	copy(b[10:26], fmt.Sprintf("%016x", id))
	return append(b, body...)
}

// writeNSQQueue writes bodies into the disk queue name with go-diskqueue
// v1.1.0 (what NSQ's nsqd uses), in small files, and then consumes the
// first `consumed` of them the way NSQ's nsqd does (ReadChan).
func writeNSQQueue(tb testing.TB, dir, name string, bodies []string, consumed int) {
	tb.Helper()
	dq := diskqueue.New(name, dir, 2048, msgHeaderLength, 1<<20, 1, time.Second,
		func(diskqueue.LogLevel, string, ...any) {})
	for i, b := range bodies {
		if err := dq.Put(nsqRecord(i+1, uint16(i%3), b)); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < consumed; i++ {
		select {
		case <-dq.ReadChan():
		case <-time.After(20 * time.Second):
			tb.Fatalf("go-diskqueue %s: read %d of %d", name, i, consumed)
		}
	}
	if err := dq.Close(); err != nil {
		tb.Fatal(err)
	}
}

func bodies(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

// importFixture is an NSQ data directory: topic "orders" with channels a
// (paused), b and c (no queue of its own), 40 messages in the topic's
// queue, 120 in a's (the first 5 consumed) and 60 in b's; topic "held"
// (paused, no channel) with 30 in its queue. want is what each channel must
// deliver after the import.
func importFixture(tb testing.TB, dir string) (want map[string][]string) {
	tb.Helper()
	meta := `{"topics":[{"name":"orders","paused":false,"channels":[{"name":"a","paused":true},{"name":"b","paused":false},{"name":"c","paused":false}]},` +
		`{"name":"held","paused":true,"channels":[]}],"version":"1.3.0"}`
	if err := os.WriteFile(filepath.Join(dir, metadataFile), []byte(meta), 0o644); err != nil {
		tb.Fatal(err)
	}
	topic, a, b, held := bodies("T", 40), bodies("A", 120), bodies("B", 60), bodies("H", 30)
	writeNSQQueue(tb, dir, "orders", topic, 0)
	writeNSQQueue(tb, dir, "orders:a", a, 5)
	writeNSQQueue(tb, dir, "orders:b", b, 0)
	writeNSQQueue(tb, dir, "held", held, 0)
	return map[string][]string{
		"orders/a": append(append([]string{}, a[5:]...), topic...),
		"orders/b": append(append([]string{}, b...), topic...),
		"orders/c": topic,
		"held/x":   held,
	}
}

// drainChannel subscribes and FINs until want-many distinct messages
// arrived, failing on a duplicate, then checks nothing more is queued.
func drainChannel(tb testing.TB, n *NSQD, topic, channel string, want []string) {
	tb.Helper()
	sub := subscribe(tb, n, topic, channel, 50)
	defer sub.conn.Close()
	got := map[string]bool{}
	for len(got) < len(want) {
		m := sub.readMsg()
		if got[m.body] {
			tb.Fatalf("%s/%s: %s delivered twice", topic, channel, m.body)
		}
		got[m.body] = true
		sub.cmd("FIN " + m.id)
	}
	var missing []string
	for _, w := range want {
		if !got[w] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 || len(got) != len(want) {
		tb.Fatalf("%s/%s: got %d, want %d; missing %v", topic, channel, len(got), len(want), missing)
	}
	// every FIN processed (nothing in flight) and nothing more queued
	eventually(tb, func() bool {
		cs := channelStatsOf(tb, n, topic, channel)
		return cs.Depth == 0 && cs.DeferredCount == 0 && cs.InFlightCount == 0
	}, "%s/%s: all finished, nothing more held", topic, channel)
}

// checkImported drains every channel of the fixture and checks the NSQ
// files are gone.
func checkImported(tb testing.TB, n *NSQD, dir string, want map[string][]string) {
	tb.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, "*.diskqueue.*"))
	if _, err := os.Stat(filepath.Join(dir, metadataFile)); err == nil {
		left = append(left, metadataFile)
	}
	for _, p := range []string{importDirName, filepath.Join(logDirName, importManifest)} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		tb.Fatalf("left after the import: %v", left)
	}
	for _, ch := range []string{"a", "b", "c"} {
		// the depth settles once the channel's reader filled its window
		eventually(tb, func() bool {
			cs := channelStatsOf(tb, n, "orders", ch)
			return cs != nil && cs.Paused == (ch == "a") && cs.Depth == int64(len(want["orders/"+ch]))
		}, "orders/%s after the import: paused %v, depth %d", ch, ch == "a", len(want["orders/"+ch]))
	}
	st := getStats(tb, n, "&topic=held")
	if len(st.Topics) != 1 || !st.Topics[0].Paused || len(st.Topics[0].Channels) != 0 {
		tb.Fatalf("topic held after the import: %+v", st.Topics)
	}
	httpDo(tb, n, "POST", "/channel/unpause?topic=orders&channel=a", "")
	httpDo(tb, n, "POST", "/topic/unpause?topic=held", "")
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		topic, channel, _ := strings.Cut(k, "/")
		drainChannel(tb, n, topic, channel, want[k])
	}
}

// TestImportNSQDataDir: --storage=log on a directory of NSQ disk queues
// (written by go-diskqueue itself) imports them: every channel delivers
// exactly its own backlog and the topic's, pause states are kept, counts
// are logged, the originals are gone, and a restart imports nothing again.
func TestImportNSQDataDir(t *testing.T) {
	for _, syncAck := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync-ack=%v", syncAck), func(t *testing.T) {
			opts := logOptions(t, syncAck)
			want := importFixture(t, opts.DataPath)
			n := startNSQD(t, opts)
			lines := strings.Join(opts.Logger.(*testutil.Logger).Lines(), "\n")
			for _, line := range []string{"IMPORT: CHANNEL(orders:a): 115 messages", "IMPORT: CHANNEL(orders:b): 60 messages",
				"IMPORT: TOPIC(orders): 40 messages", "IMPORT: TOPIC(held): 30 messages", "IMPORT: done"} {
				if !strings.Contains(lines, line) {
					t.Errorf("not logged: %q", line)
				}
			}
			checkImported(t, n, opts.DataPath, want)
			n.Exit()

			n2 := startNSQD(t, opts) // nothing imported again, nothing redelivered
			for _, ch := range []string{"a", "b", "c"} {
				eventually(t, func() bool {
					cs := channelStatsOf(t, n2, "orders", ch)
					return cs != nil && cs.Depth == 0 && cs.InFlightCount == 0
				}, "orders/%s empty after the restart", ch)
			}
		})
	}
}

// TestImportInterrupted stops the import at each of its steps as a crash
// would; the next start completes it with nothing lost or doubled.
func TestImportInterrupted(t *testing.T) {
	for _, tc := range []struct {
		step string
		nth  int
	}{{"batch", 1}, {"batch", 4}, {"rename", 1}, {"remove", 1}, {"remove", 5}} {
		t.Run(fmt.Sprintf("%s#%d", tc.step, tc.nth), func(t *testing.T) {
			opts := logOptions(t, false)
			want := importFixture(t, opts.DataPath)
			calls := 0
			fault := func(step string) error {
				if step == tc.step {
					if calls++; calls == tc.nth {
						return fmt.Errorf("simulated crash at %s #%d", step, calls)
					}
				}
				return nil
			}
			importFault.Store(&fault)
			_, err := New(opts)
			importFault.Store(nil)
			if err == nil || !strings.Contains(err.Error(), "simulated crash") {
				t.Fatalf("New with the fault: %v", err)
			}
			n := startNSQD(t, opts)
			checkImported(t, n, opts.DataPath, want)
		})
	}
}

// TestImportRefusesBadQueueName: a disk queue no topic or channel can be
// named after stops the start, and the files stay.
func TestImportRefusesBadQueueName(t *testing.T) {
	opts := logOptions(t, false)
	writeNSQQueue(t, opts.DataPath, "bad name", bodies("x", 3), 0)
	if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "not named after a valid topic") {
		t.Fatalf("New: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(opts.DataPath, "bad name.diskqueue.*")); len(m) == 0 {
		t.Fatal("the refused queue's files were removed")
	}
}
