package harvester

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlog/nsqlogtest"
)

const deliveryTimeout = 30 * time.Second

// e2eOptions returns fast-reacting options tailing dir/*.log.
func e2eOptions(tb testing.TB, dir, topic string, addrs ...string) *Options {
	tb.Helper()
	o := NewOptions()
	o.Paths = []string{filepath.Join(dir, "*.log")}
	o.Topic = topic
	o.NSQDTCPAddresses = addrs
	o.RegistryFile = filepath.Join(tb.TempDir(), "registry.json")
	o.ScanFrequency = 50 * time.Millisecond
	o.Backoff = 5 * time.Millisecond
	o.MaxBackoff = 20 * time.Millisecond
	o.BatchTimeout = 10 * time.Millisecond
	o.OutputBackoff = 10 * time.Millisecond
	o.OutputMaxBackoff = 100 * time.Millisecond
	o.RegistryFlush = 0
	o.StatsInterval = time.Hour
	o.Logger = testutil.NewLogger(tb)
	o.LogLevel = lg.DEBUG
	return o
}

// run starts a Harvester and stops it at cleanup.
func run(tb testing.TB, o *Options) *Harvester {
	tb.Helper()
	h, err := New(o)
	if err != nil {
		tb.Fatalf("New: %s", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Main() }()
	tb.Cleanup(func() {
		h.Exit()
		if err := <-done; err != nil {
			tb.Errorf("Main: %s", err)
		}
	})
	return h
}

// appendLines appends lines "<prefix>-<n>" for n in [from, to) and returns
// them.
func appendLines(tb testing.TB, path, prefix string, from, to int) []string {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	var out []string
	for n := from; n < to; n++ {
		l := fmt.Sprintf("%s-%06d", prefix, n)
		out = append(out, l)
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if _, err := f.WriteString(b.String()); err != nil {
		tb.Fatal(err)
	}
	return out
}

// registryOffset returns the persisted offset of path's file, or -1.
func registryOffset(tb testing.TB, o *Options, path string) int64 {
	tb.Helper()
	id, err := idOfPath(path)
	if err != nil {
		tb.Fatal(err)
	}
	r := testRegistryAt(tb, o.RegistryFile)
	recs, err := r.readFile(o.RegistryFile)
	if err != nil {
		return -1
	}
	for _, rec := range recs {
		if rec.Dev == id.Dev && rec.Ino == id.Ino {
			return rec.Offset
		}
	}
	return -1
}

func fileSize(tb testing.TB, path string) int64 {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

func TestE2EAppend(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("append")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	path := filepath.Join(dir, "app.log")
	want := appendLines(t, path, "a", 0, 1000)

	o := e2eOptions(t, dir, topic, nsqdAddr)
	o.BatchSize = 64
	h := run(t, o)
	cons.WaitAll(t, want, deliveryTimeout)
	testutil.Eventually(t, deliveryTimeout, func() bool {
		return registryOffset(t, o, path) == fileSize(t, path)
	}, "registry offset never reached the file size %d", fileSize(t, path))

	// A line being written is held back until its newline arrives.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("partial"); err != nil {
		t.Fatal(err)
	}
	want = append(want, appendLines(t, filepath.Join(dir, "other.log"), "o", 0, 10)...)
	cons.WaitAll(t, want, deliveryTimeout)
	if n := cons.Count("partial"); n != 0 {
		t.Errorf("unfinished line was published %d times", n)
	}
	if _, err := f.WriteString(" line\n"); err != nil {
		t.Fatal(err)
	}
	want = append(want, "partial line")
	want = append(want, appendLines(t, path, "a", 1000, 2000)...)
	cons.WaitAll(t, want, deliveryTimeout)

	testutil.Eventually(t, deliveryTimeout, func() bool { return h.Stats().EventsPending == 0 }, "events still pending")
	if dups := cons.Duplicates(); dups != 0 {
		t.Errorf("%d duplicates without any failure", dups)
	}
	if u := cons.Unexpected(want); len(u) != 0 {
		t.Errorf("unexpected messages %q", u)
	}
	s := h.Stats()
	if s.EventsPublished != int64(len(want)) || s.EventsAcked != int64(len(want)) {
		t.Errorf("published %d, acked %d, want %d", s.EventsPublished, s.EventsAcked, len(want))
	}
	if s.RegistryWrites == 0 {
		t.Error("registry never written")
	}
}

// TestE2EBadInput tails a file with binary junk, over-long and empty lines
// next to things that are not regular files: every byte is accounted for
// and nothing stops the good lines.
func TestE2EBadInput(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("bad")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)

	long := strings.Repeat("x", 250)
	junk := "\x00\x01\xfe\xff binary"
	content := "first\n" + long + "\n\n" + junk + "\nlast\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.log"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "link.log")); err != nil {
		t.Fatal(err)
	}

	o := e2eOptions(t, dir, topic, nsqdAddr)
	o.MaxLineBytes = 100
	h := run(t, o)
	want := []string{"first", long[:100], long[100:200], long[200:], junk, "last"}
	cons.WaitAll(t, want, deliveryTimeout)
	testutil.Eventually(t, deliveryTimeout, func() bool {
		return registryOffset(t, o, filepath.Join(dir, "bad.log")) == int64(len(content))
	}, "offset never covered the whole file")
	s := h.Stats()
	if s.LinesSplit != 1 || s.LinesEmpty != 1 {
		t.Errorf("lines_split=%d lines_empty=%d, want 1 and 1", s.LinesSplit, s.LinesEmpty)
	}
	if s.OpenErrors != 1 {
		t.Errorf("open_errors=%d, want 1 (the symlink)", s.OpenErrors)
	}
	if u := cons.Unexpected(want); len(u) != 0 {
		t.Errorf("unexpected messages %q", u)
	}
}

// TestE2ERotation renames the file away and creates a new one while the
// writer keeps going on the old file for a moment (logrotate "create").
// The rotated names are in the globs, as the docs advise.
func TestE2ERotation(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("rotate")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	path := filepath.Join(dir, "app.log")

	o := e2eOptions(t, dir, topic, nsqdAddr)
	o.Paths = append(o.Paths, filepath.Join(dir, "*.log.*"))
	h := run(t, o)
	var want []string
	for round := 0; round < 3; round++ {
		want = append(want, appendLines(t, path, fmt.Sprintf("r%d", round), 0, 500)...)
		testutil.Eventually(t, deliveryTimeout, func() bool { return h.Stats().HarvestersStarted >= int64(round+1) }, "file of round %d never opened", round)
		rotated := fmt.Sprintf("%s.%d", path, round)
		if err := os.Rename(path, rotated); err != nil {
			t.Fatal(err)
		}
		// The application still writes to its open handle, then reopens.
		want = append(want, appendLines(t, rotated, fmt.Sprintf("r%d-late", round), 0, 100)...)
		want = append(want, appendLines(t, path, fmt.Sprintf("r%d-new", round), 0, 100)...)
	}
	cons.WaitAll(t, want, deliveryTimeout)
	testutil.Eventually(t, deliveryTimeout, func() bool { return h.Stats().EventsPending == 0 }, "events still pending")
	if dups := cons.Duplicates(); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	if n := h.Stats().FilesRenamed; n != 3 {
		t.Errorf("files_renamed = %d, want 3", n)
	}
	if u := cons.Unexpected(want); len(u) != 0 {
		t.Errorf("unexpected messages %q", u)
	}
}

// TestE2ECopyTruncate copies the file away (outside the glob) and
// truncates it in place; the lines written after the truncation arrive.
func TestE2ECopyTruncate(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("truncate")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	path := filepath.Join(dir, "app.log")

	o := e2eOptions(t, dir, topic, nsqdAddr)
	h := run(t, o)
	want := appendLines(t, path, "before", 0, 500)
	cons.WaitAll(t, want, deliveryTimeout)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.log.1"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	// Fewer bytes than before, so the shrink is visible.
	after := appendLines(t, path, "after", 0, 20)
	want = append(want, after...)
	cons.WaitAll(t, want, deliveryTimeout)
	if n := h.Stats().FilesTruncated; n < 1 {
		t.Errorf("files_truncated = %d", n)
	}
	testutil.Eventually(t, deliveryTimeout, func() bool {
		return registryOffset(t, o, path) == fileSize(t, path)
	}, "registry offset not reset to the new size %d (is %d)", fileSize(t, path), registryOffset(t, o, path))
	if u := cons.Unexpected(want); len(u) != 0 {
		t.Errorf("unexpected messages %q", u)
	}
}

// TestE2EDeleteWhileOpen deletes a file right after appending to it: the
// open harvester reads it to the end, closes it and forgets its state.
func TestE2EDeleteWhileOpen(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("delete")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	path := filepath.Join(dir, "app.log")

	o := e2eOptions(t, dir, topic, nsqdAddr)
	// Slow reads at end of file so the deletion lands before the new
	// lines are read.
	o.Backoff, o.MaxBackoff = 40*time.Millisecond, 40*time.Millisecond
	h := run(t, o)
	want := appendLines(t, path, "a", 0, 100)
	cons.WaitAll(t, want, deliveryTimeout)
	want = append(want, appendLines(t, path, "b", 0, 2000)...)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	cons.WaitAll(t, want, deliveryTimeout)
	testutil.Eventually(t, deliveryTimeout, func() bool {
		s := h.Stats()
		return s.OpenFiles == 0 && s.FilesRemoved == 1 && s.FilesCleaned == 1
	}, "deleted file not closed and cleaned: %s", h.Stats())
	testutil.Eventually(t, deliveryTimeout, func() bool {
		recs, err := testRegistryAt(t, o.RegistryFile).readFile(o.RegistryFile)
		return err == nil && len(recs) == 0
	}, "registry still lists the deleted file")
}

// TestE2ENSQDDownThenUp starts with no nsqd: readers must stop at the
// queue limit (bounded memory) without dropping anything, and everything
// arrives once nsqd is up. Then nsqd is restarted with its data directory
// mid-stream.
func TestE2ENSQDDownThenUp(t *testing.T) {
	addr := testutil.FreeAddr(t)
	dir := t.TempDir()
	topic := nsqlogtest.Topic("down")
	path := filepath.Join(dir, "app.log")
	want := appendLines(t, path, "a", 0, 3000)

	o := e2eOptions(t, dir, topic, addr)
	o.QueueMaxEvents, o.BatchSize = 100, 20
	h := run(t, o)
	testutil.Eventually(t, deliveryTimeout, func() bool {
		s := h.Stats()
		return s.PublishErrors >= 3 && s.EventsPending == int64(o.QueueMaxEvents)
	}, "queue did not fill while nsqd was down: %s", h.Stats())
	for i := 0; i < 20; i++ {
		if p := h.Stats().EventsPending; p > int64(o.QueueMaxEvents) {
			t.Fatalf("events_pending %d over the limit %d", p, o.QueueMaxEvents)
		}
		time.Sleep(5 * time.Millisecond) // sampling while retries go on
	}
	if off := registryOffset(t, o, path); off > 0 {
		t.Errorf("registry offset %d moved without any acknowledgement", off)
	}

	dataPath := t.TempDir()
	sameAddrAndData := func(o *nsqd.Options) { o.TCPAddress, o.DataPath = addr, dataPath }
	d := nsqdtest.Start(t, sameAddrAndData)
	cons := nsqlogtest.Consume(t, addr, topic)
	cons.WaitAll(t, want, deliveryTimeout)

	// Restart nsqd (same address and data) while more lines are written.
	d.Exit()
	want = append(want, appendLines(t, path, "b", 0, 1000)...)
	nsqdtest.Start(t, sameAddrAndData)
	cons.WaitAll(t, want, deliveryTimeout)
	if u := cons.Unexpected(want); len(u) != 0 {
		t.Errorf("unexpected messages %q", u)
	}
	s := h.Stats()
	t.Logf("duplicates %d, events_retried %d", cons.Duplicates(), s.EventsRetried)
	if int64(cons.Duplicates()) > s.EventsRetried {
		t.Errorf("%d duplicates but only %d events were ever sent again", cons.Duplicates(), s.EventsRetried)
	}
}

// TestE2EFailover lists a dead nsqd first.
func TestE2EFailover(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("failover")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	want := appendLines(t, filepath.Join(dir, "app.log"), "a", 0, 500)
	o := e2eOptions(t, dir, topic, testutil.FreeAddr(t), nsqdAddr)
	run(t, o)
	cons.WaitAll(t, want, deliveryTimeout)
}

// TestE2ERestartResumes stops the harvester cleanly and starts a new one
// on the same registry: nothing is sent twice.
func TestE2ERestartResumes(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("resume")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	path := filepath.Join(dir, "app.log")
	want := appendLines(t, path, "a", 0, 500)
	o := e2eOptions(t, dir, topic, nsqdAddr)
	o.RegistryFlush = time.Hour // only the exit writes it
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Main() }()
	cons.WaitAll(t, want, deliveryTimeout)
	testutil.Eventually(t, deliveryTimeout, func() bool { return h.Stats().EventsPending == 0 }, "events pending")
	h.Exit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if off := registryOffset(t, o, path); off != fileSize(t, path) {
		t.Fatalf("registry offset after clean exit %d, want %d", off, fileSize(t, path))
	}
	want = append(want, appendLines(t, path, "b", 0, 500)...)
	run(t, o)
	cons.WaitAll(t, want, deliveryTimeout)
	if dups := cons.Duplicates(); dups != 0 {
		t.Errorf("%d duplicates after a clean restart", dups)
	}
}

// TestE2ECloseInactiveReopens closes a quiet file and reopens it at its
// offset when it grows again.
func TestE2ECloseInactiveReopens(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("inactive")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	path := filepath.Join(dir, "app.log")
	o := e2eOptions(t, dir, topic, nsqdAddr)
	o.CloseInactive = 100 * time.Millisecond
	h := run(t, o)
	want := appendLines(t, path, "a", 0, 100)
	cons.WaitAll(t, want, deliveryTimeout)
	testutil.Eventually(t, deliveryTimeout, func() bool { return h.Stats().OpenFiles == 0 }, "quiet file not closed")
	want = append(want, appendLines(t, path, "b", 0, 100)...)
	cons.WaitAll(t, want, deliveryTimeout)
	if n := h.Stats().HarvestersStarted; n < 2 {
		t.Errorf("harvesters_started = %d, want a reopen", n)
	}
	if dups := cons.Duplicates(); dups != 0 {
		t.Errorf("%d duplicates after reopening", dups)
	}
}

// TestE2ETailFiles starts files found at the first scan at their end;
// files that appear later are read from their beginning.
func TestE2ETailFiles(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("tail")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	old := appendLines(t, filepath.Join(dir, "old.log"), "old", 0, 100)
	o := e2eOptions(t, dir, topic, nsqdAddr)
	o.TailFiles = true
	h := run(t, o)
	testutil.Eventually(t, deliveryTimeout, func() bool {
		return registryOffset(t, o, filepath.Join(dir, "old.log")) == fileSize(t, filepath.Join(dir, "old.log"))
	}, "tailed file not registered at its end")
	want := appendLines(t, filepath.Join(dir, "old.log"), "more", 0, 50)
	want = append(want, appendLines(t, filepath.Join(dir, "new.log"), "new", 0, 50)...)
	cons.WaitAll(t, want, deliveryTimeout)
	testutil.Eventually(t, deliveryTimeout, func() bool { return h.Stats().EventsPending == 0 }, "events pending")
	for _, l := range old {
		if cons.Count(l) != 0 {
			t.Fatalf("line %q from before the start was sent with --tail-files", l)
		}
	}
}

// TestE2EHarvesterLimit keeps at most two files open; all are read in
// turn as quiet ones close.
func TestE2EHarvesterLimit(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("limit")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	var want []string
	for i := 0; i < 6; i++ {
		want = append(want, appendLines(t, filepath.Join(dir, fmt.Sprintf("f%d.log", i)), fmt.Sprintf("f%d", i), 0, 50)...)
	}
	o := e2eOptions(t, dir, topic, nsqdAddr)
	o.HarvesterLimit = 2
	o.CloseInactive = 50 * time.Millisecond
	h := run(t, o)
	maxOpen := int64(0)
	testutil.Eventually(t, deliveryTimeout, func() bool {
		maxOpen = max(maxOpen, h.Stats().OpenFiles)
		return len(cons.Missing(want)) == 0
	}, "not every file was read")
	if maxOpen > 2 {
		t.Errorf("%d files open at once, limit 2", maxOpen)
	}
	if n := h.Stats().HarvestersStarted; n != 6 {
		t.Errorf("harvesters_started = %d, want 6", n)
	}
}
