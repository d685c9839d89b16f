package nsqd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestCleanRestartKeepsEverything stops a daemon holding queued, in-flight
// and deferred messages on two channels, starts a new one on the same data
// directory and receives every message again.
func TestCleanRestartKeepsEverything(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 3 // some messages on disk, some in memory
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
	a.cmd("REQ " + second.id + " 600000") // deferred by REQ
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "keep", "a")
		return cs.InFlightCount == 2 && cs.DeferredCount == 2
	}, "one in flight (two were sent), two deferred")
	if _, body, _ := httpDo(t, n, "POST", "/channel/pause?topic=keep&channel=b", ""); body != "" {
		t.Fatal(body)
	}
	n.Exit()

	n2 := startNSQD(t, opts)
	cs := channelStatsOf(t, n2, "keep", "b")
	if cs == nil || !cs.Paused || cs.Depth != int64(len(bodies)+1) {
		t.Fatalf("channel b after restart: %+v", cs)
	}
	httpDo(t, n2, "POST", "/channel/unpause?topic=keep&channel=b", "")
	// The order promised across a clean restart: what was on disk first,
	// in publish order, then what was queued in memory (older than all of
	// that; memory holds three), in order, flushed behind it; last the
	// messages in flight and deferred at shutdown, in no promised order.
	// NSQ flushes the same way.
	rank := map[string]int{}
	for i, b := range bodies {
		rank[b] = i
	}
	heldBack := map[string][]string{"a": {"deferred", "m0", "m1", "m2"}, "b": {"deferred"}} // sorted
	for _, ch := range []string{"a", "b"} {
		sub := subscribe(t, n2, "keep", ch, 100)
		var got []string
		for i := 0; i < len(bodies)+1; i++ {
			m := sub.readMsg()
			got = append(got, m.body)
			if ch == "a" && m.id == inflight.id && m.attempts != 2 {
				t.Errorf("in-flight message came back with attempts %d, want 2", m.attempts)
			}
			sub.cmd("FIN " + m.id)
		}
		split := len(got) - len(heldBack[ch])
		tail := append([]string(nil), got[split:]...)
		sort.Strings(tail)
		if !diskThenMemory(got[:split], rank) || strings.Join(tail, ",") != strings.Join(heldBack[ch], ",") {
			t.Fatalf("channel %s after restart got %v: want the queued messages as two runs in publish order, "+
				"the later one older, then %v in any order", ch, got, heldBack[ch])
		}
	}
}

// diskThenMemory reports whether seq (ranked by publish order) is one run
// in publish order followed by another whose messages are all older than
// the first run's.
func diskThenMemory(seq []string, rank map[string]int) bool {
	i := 1
	for i < len(seq) && rank[seq[i]] > rank[seq[i-1]] {
		i++
	}
	for j := i + 1; j < len(seq); j++ {
		if rank[seq[j]] < rank[seq[j-1]] {
			return false
		}
	}
	return i == len(seq) || rank[seq[len(seq)-1]] < rank[seq[0]]
}

func TestMetadataFile(t *testing.T) {
	opts := testOptions(t)
	n := startNSQD(t, opts)
	httpDo(t, n, "POST", "/topic/create?topic=t1", "")
	httpDo(t, n, "POST", "/channel/create?topic=t1&channel=c1", "")
	httpDo(t, n, "POST", "/channel/create?topic=t1&channel=eph%23ephemeral", "")
	httpDo(t, n, "POST", "/topic/create?topic=mp", "")
	httpDo(t, n, "POST", "/topic/create?topic=gone%23ephemeral", "")
	httpDo(t, n, "POST", "/channel/pause?topic=t1&channel=c1", "")
	path := filepath.Join(opts.DataPath, "nsqd.dat")
	var m metadata
	eventually(t, func() bool {
		data, err := os.ReadFile(path)
		if err != nil || json.Unmarshal(data, &m) != nil || len(m.Topics) != 2 {
			return false
		}
		for _, tp := range m.Topics {
			if tp.Name == "t1" && len(tp.Channels) == 1 && tp.Channels[0].Paused {
				return true
			}
		}
		return false
	}, "nsqd.dat lists t1 with paused c1 and mp")
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `{"name":"mp","paused":false,"channels":null}`) ||
		!strings.Contains(string(data), `"version":"1.3.0"`) {
		t.Fatalf("nsqd.dat shape: %s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("nsqd.dat mode %v", fi.Mode())
	}
}

func TestLoadsNSQMetadata(t *testing.T) {
	opts := testOptions(t)
	os.WriteFile(filepath.Join(opts.DataPath, "nsqd.dat"), []byte(`{"topics":[{"name":"t1","paused":true,"channels":[{"name":"c1","paused":true},{"name":"bad:name","paused":false}]},{"name":"mp","paused":false,"channels":null},{"name":"bad topic","paused":false,"channels":null}],"version":"1.3.0"}`), 0o600)
	n := startNSQD(t, opts)
	s := getStats(t, n, "")
	if len(s.Topics) != 2 || s.Topics[1].TopicName != "t1" || !s.Topics[1].Paused ||
		len(s.Topics[1].Channels) != 1 || !s.Topics[1].Channels[0].Paused {
		b, _ := json.Marshal(s.Topics)
		t.Fatalf("loaded %s", b)
	}
}

func TestBadMetadataFails(t *testing.T) {
	opts := testOptions(t)
	os.WriteFile(filepath.Join(opts.DataPath, "nsqd.dat"), []byte(`{"topics":`), 0o600)
	_, err := New(opts)
	if err == nil || !strings.Contains(err.Error(), "failed to parse metadata in") {
		t.Fatalf("err = %v", err)
	}
}

func TestDataPathLocked(t *testing.T) {
	opts := testOptions(t)
	startNSQD(t, opts)
	opts2 := testOptions(t)
	opts2.DataPath = opts.DataPath
	_, err := New(opts2)
	if err == nil || !strings.Contains(err.Error(), "failed to lock data-path") ||
		!strings.Contains(err.Error(), "possibly in use by another instance of nsqd") {
		t.Fatalf("err = %v", err)
	}
}

func TestDiskQueueFileNames(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 0
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go n.Main()
	httpDo(t, n, "POST", "/topic/create?topic=files", "")
	httpDo(t, n, "POST", "/channel/create?topic=files&channel=c", "")
	publish(t, n, "files", "x")
	n.Exit()
	for _, f := range []string{"files.diskqueue.meta.dat", "files:c.diskqueue.meta.dat", "files:c.diskqueue.000000.dat"} {
		if _, err := os.Stat(filepath.Join(opts.DataPath, f)); err != nil {
			t.Errorf("missing %s: %s", f, err)
		}
	}
	meta, _ := os.ReadFile(filepath.Join(opts.DataPath, "files:c.diskqueue.meta.dat"))
	if !strings.HasPrefix(string(meta), "1\n0,0\n0,") {
		t.Errorf("channel meta %q", meta)
	}
	_ = time.Second
}

func TestExitRightAfterMain(t *testing.T) {
	for i := 0; i < 20; i++ {
		n, err := New(testOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- n.Main() }()
		n.Exit()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
