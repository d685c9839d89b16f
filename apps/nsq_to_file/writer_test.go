package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
)

// fakeSource stands in for the go-nsq consumer.
type fakeSource struct {
	mu      sync.Mutex // guards starved, stops
	starved bool
	stops   int
	stopped chan int
}

func (f *fakeSource) IsStarved() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starved
}

func (f *fakeSource) Stop() {
	f.mu.Lock()
	f.stops++
	f.mu.Unlock()
}

func (f *fakeSource) Stopped() <-chan int { return f.stopped }

// finRecorder is the message delegate: it records FINished bodies.
type finRecorder struct {
	mu   sync.Mutex // guards fins
	fins []string
}

func (r *finRecorder) OnFinish(m *nsq.Message) {
	r.mu.Lock()
	r.fins = append(r.fins, string(m.Body))
	r.mu.Unlock()
}
func (r *finRecorder) OnRequeue(*nsq.Message, time.Duration, bool) {}
func (r *finRecorder) OnTouch(*nsq.Message)                        {}

func (r *finRecorder) finished() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.fins)
}

type harness struct {
	w       *topicWriter
	src     *fakeSource
	fins    *finRecorder
	now     time.Time
	work    string
	out     string
	logs    *bytes.Buffer
	logsMu  *sync.Mutex
	message func(body string) *nsq.Message
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// newHarness builds a topicWriter for topic "t" writing under fresh work
// and output dirs (the same dir unless separateWork).
func newHarness(tb testing.TB, cfg archiveConfig, nc nameConfig, separateWork bool, maxBatch int) *harness {
	tb.Helper()
	h := &harness{
		src:    &fakeSource{stopped: make(chan int)},
		fins:   &finRecorder{},
		now:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local),
		out:    tb.TempDir(),
		logs:   &bytes.Buffer{},
		logsMu: &sync.Mutex{},
	}
	h.work = h.out
	if separateWork {
		h.work = tb.TempDir()
	}
	cfg.workDir, cfg.outputDir = h.work, h.out
	if nc.filenameFormat == "" {
		nc.filenameFormat = "<TOPIC><REV>.<DATETIME>.log"
	}
	if nc.datetimeFormat == "" {
		nc.datetimeFormat = "%Y-%m-%d_%H"
	}
	nc.needRev = cfg.gzipLevel > 0 || cfg.rotateSize > 0 || cfg.rotateInterval > 0 || separateWork
	nc.gzip = cfg.gzipLevel > 0
	names, err := newNamer(nc, "t")
	if err != nil {
		tb.Fatal(err)
	}
	logger := lg.NewLeveled(log.New(lockedWriter{h.logsMu, h.logs}, "", 0), lg.DEBUG)
	h.w = &topicWriter{
		topic:        "t",
		files:        newArchiver(cfg, names, logger),
		src:          h.src,
		log:          logger,
		maxBatch:     maxBatch,
		syncInterval: time.Hour,
		now:          func() time.Time { return h.now },
		msgs:         make(chan *nsq.Message, 1),
	}
	h.message = func(body string) *nsq.Message {
		m := nsq.NewMessage(nsq.MessageID{}, []byte(body))
		m.Delegate = h.fins
		return m
	}
	return h
}

func (h *harness) write(tb testing.TB, bodies ...string) {
	tb.Helper()
	for _, b := range bodies {
		if err := h.w.write(h.message(b), false); err != nil {
			tb.Fatal(err)
		}
	}
}

func (h *harness) logged() string {
	h.logsMu.Lock()
	defer h.logsMu.Unlock()
	return h.logs.String()
}

// files lists dir's regular files (relative paths) with their contents.
func files(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func gunzip(tb testing.TB, data string) string {
	tb.Helper()
	zr, err := gzip.NewReader(strings.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestFirstMessageSyncedAtOnceThenBatched(t *testing.T) {
	h := newHarness(t, archiveConfig{}, nameConfig{}, false, 3)
	h.write(t, "m1")
	if got := h.w.src.(*fakeSource); got == nil || !slices.Equal(h.fins.finished(), []string{"m1"}) {
		t.Fatalf("first message (new file) not synced at once: %v", h.fins.finished())
	}
	h.write(t, "m2", "m3")
	if n := len(h.fins.finished()); n != 1 {
		t.Fatalf("FINished before the batch was full: %v", h.fins.finished())
	}
	h.write(t, "m4") // batch of 3 reached
	if got := h.fins.finished(); !slices.Equal(got, []string{"m1", "m2", "m3", "m4"}) {
		t.Fatalf("batch not synced: %v", got)
	}
	h.src.mu.Lock()
	h.src.starved = true
	h.src.mu.Unlock()
	h.write(t, "m5")
	if n := len(h.fins.finished()); n != 5 {
		t.Fatal("starved consumer did not force a sync")
	}
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	got := files(t, h.out)
	if got["t.2026-01-02_03.log"] != "m1\nm2\nm3\nm4\nm5\n" || len(got) != 1 {
		t.Fatalf("files %v", got)
	}
	if !strings.Contains(h.logged(), "INFO: [t] syncing 3 records to disk") {
		t.Fatalf("log %q", h.logged())
	}
}

func TestPlainFileAppendsAcrossRuns(t *testing.T) {
	h := newHarness(t, archiveConfig{}, nameConfig{}, false, 10)
	name := filepath.Join(h.out, "t.2026-01-02_03.log")
	if err := os.WriteFile(name, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.write(t, "new")
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "old\nnew\n" {
		t.Fatalf("content %q", b)
	}
}

func TestRotateBySize(t *testing.T) {
	h := newHarness(t, archiveConfig{rotateSize: 10}, nameConfig{}, false, 100)
	h.write(t, "aaaa", "bbbb", "cccc", "dddd", "eeee") // 5 bytes each with the newline
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	got := files(t, h.out)
	// The check precedes the write, so a file ends up one message over.
	want := map[string]string{
		"t-000000.2026-01-02_03.log": "aaaa\nbbbb\ncccc\n",
		"t-000001.2026-01-02_03.log": "dddd\neeee\n",
	}
	if len(got) != len(want) {
		t.Fatalf("files %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("files %v, want %v", got, want)
		}
	}
	if n := len(h.fins.finished()); n != 5 {
		t.Fatalf("%d FINs", n)
	}
}

func TestRotateByIntervalAndDatetime(t *testing.T) {
	h := newHarness(t, archiveConfig{rotateInterval: time.Minute}, nameConfig{}, false, 100)
	h.write(t, "a")
	h.now = h.now.Add(30 * time.Second)
	h.write(t, "b")
	h.now = h.now.Add(31 * time.Second) // open for 61s
	h.write(t, "c")
	h.now = h.now.Add(time.Hour) // the hour rolls over: rev restarts
	h.write(t, "d")
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	got := files(t, h.out)
	want := map[string]string{
		"t-000000.2026-01-02_03.log": "a\nb\n",
		"t-000001.2026-01-02_03.log": "c\n",
		"t-000000.2026-01-02_04.log": "d\n",
	}
	if len(got) != len(want) {
		t.Fatalf("files %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("files %v, want %v", got, want)
		}
	}
}

func TestRevisionSkipsExisting(t *testing.T) {
	// Exclusive open (rotation by interval) skips existing revisions, and
	// a file already over --rotate-size is skipped too.
	h := newHarness(t, archiveConfig{rotateInterval: time.Hour, rotateSize: 3}, nameConfig{}, false, 100)
	os.WriteFile(filepath.Join(h.out, "t-000000.2026-01-02_03.log"), []byte("x\n"), 0o644)
	os.WriteFile(filepath.Join(h.out, "t-000001.2026-01-02_03.log"), []byte("toolarge\n"), 0o644)
	h.write(t, "new")
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, h.out)["t-000002.2026-01-02_03.log"]; got != "new\n" {
		t.Fatalf("files %v", files(t, h.out))
	}
}

func TestWorkDirMoveAvoidsOverwrite(t *testing.T) {
	h := newHarness(t, archiveConfig{}, nameConfig{filenameFormat: "<TOPIC>/<DATETIME><REV>.log"}, true, 100)
	// Revision 0 already exists in the output dir: the next is opened.
	os.MkdirAll(filepath.Join(h.out, "t"), 0o755)
	os.WriteFile(filepath.Join(h.out, "t", "2026-01-02_03-000000.log"), []byte("earlier\n"), 0o644)
	h.write(t, "one")
	if got := files(t, h.work); got["t/2026-01-02_03-000001.log"] != "one\n" {
		t.Fatalf("work dir %v", got)
	}
	// Someone takes the name in the output dir while we write.
	os.WriteFile(filepath.Join(h.out, "t", "2026-01-02_03-000001.log"), []byte("intruder\n"), 0o644)
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, h.work); len(got) != 0 {
		t.Fatalf("work dir not emptied: %v", got)
	}
	got := files(t, h.out)
	if got["t/2026-01-02_03-000000.log"] != "earlier\n" || got["t/2026-01-02_03-000001.log"] != "intruder\n" ||
		got["t/2026-01-02_03-000002.log"] != "one\n" {
		t.Fatalf("output %v", got)
	}
	if !strings.Contains(h.logged(), "renamed finished file t/2026-01-02_03-000001.log to t/2026-01-02_03-000002.log to avoid overwrite") {
		t.Fatalf("log %q", h.logged())
	}
}

func TestGzipMembersReadable(t *testing.T) {
	h := newHarness(t, archiveConfig{gzipLevel: 6}, nameConfig{}, false, 2)
	h.write(t, "a", "b", "c", "d", "e")
	if err := h.w.onTick(); err != nil {
		t.Fatal(err)
	}
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	got := files(t, h.out)
	data := got["t-000000.2026-01-02_03.log.gz"]
	if len(got) != 1 || gunzip(t, data) != "a\nb\nc\nd\ne\n" {
		t.Fatalf("files %v", got)
	}
	// One member per sync that had data: after a (new file), after c
	// (batch of 2), after e (batch of 2); the tick and the close add none.
	if n := strings.Count(data, "\x1f\x8b\x08"); n != 3 {
		t.Fatalf("%d gzip members", n)
	}
}

func TestEmptyFilesOnTick(t *testing.T) {
	h := newHarness(t, archiveConfig{gzipLevel: 6, rotateInterval: time.Minute}, nameConfig{}, false, 10)
	if err := h.w.onTick(); err != nil { // no file yet: an empty one is created
		t.Fatal(err)
	}
	h.now = h.now.Add(2 * time.Minute)
	if err := h.w.onTick(); err != nil { // due: closed, another opened
		t.Fatal(err)
	}
	if err := h.w.closeFile(); err != nil {
		t.Fatal(err)
	}
	got := files(t, h.out)
	if len(got) != 2 {
		t.Fatalf("files %v", got)
	}
	for name, data := range got {
		if len(data) != 23 || gunzip(t, data) != "" {
			t.Fatalf("%s: %d bytes, want an empty 23-byte gzip file", name, len(data))
		}
	}

	h = newHarness(t, archiveConfig{rotateInterval: time.Minute}, nameConfig{}, false, 10)
	h.w.skipEmpty = true
	if err := h.w.onTick(); err != nil {
		t.Fatal(err)
	}
	h.write(t, "x")
	h.now = h.now.Add(2 * time.Minute)
	if err := h.w.onTick(); err != nil { // due: only closed
		t.Fatal(err)
	}
	if err := h.w.onTick(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, h.out); len(got) != 1 || got["t-000000.2026-01-02_03.log"] != "x\n" {
		t.Fatalf("--skip-empty-files: %v", got)
	}
}

func TestRunLoopHupAndDrain(t *testing.T) {
	h := newHarness(t, archiveConfig{}, nameConfig{filenameFormat: "<TOPIC><REV>.log"}, true, 100)
	hup, term := make(chan struct{}, 1), make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- h.w.run(hup, term) }()

	for _, b := range []string{"a", "b"} {
		if err := h.w.HandleMessage(h.message(b)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return files(t, h.work)["t-000000.log"] == "a\nb\n" }, "messages not written")
	hup <- struct{}{}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(files(t, h.out)) == 1 }, "SIGHUP did not close and move the file")
	testutil.Eventually(t, 5*time.Second, func() bool { return len(h.fins.finished()) == 2 }, "SIGHUP did not FIN the batch")

	h.w.HandleMessage(h.message("c"))
	testutil.Eventually(t, 5*time.Second, func() bool { return len(h.fins.finished()) == 3 }, "c not written")
	close(term)
	testutil.Eventually(t, 5*time.Second, func() bool {
		h.src.mu.Lock()
		defer h.src.mu.Unlock()
		return h.src.stops == 1
	}, "consumer not stopped on SIGTERM")
	// Messages arriving during the drain are written and FINished at once.
	h.w.HandleMessage(h.message("d"))
	testutil.Eventually(t, 5*time.Second, func() bool { return len(h.fins.finished()) == 4 }, "drain did not FIN")
	h.w.msgs <- h.message("e") // buffered when the consumer stops
	close(h.src.stopped)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("writer did not finish after the consumer stopped")
	}
	got := files(t, h.out)
	if got["t-000000.log"] != "a\nb\n" || got["t-000001.log"] != "c\nd\ne\n" || len(got) != 2 {
		t.Fatalf("output %v", got)
	}
	if fins := h.fins.finished(); !slices.Equal(fins, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("FINs %v", fins)
	}
	if len(files(t, h.work)) != 0 {
		t.Fatal("work dir not empty")
	}
}

func TestWriteErrorIsFatal(t *testing.T) {
	h := newHarness(t, archiveConfig{}, nameConfig{filenameFormat: "missing/<TOPIC>.log"}, false, 10)
	// A file where the directory should be makes the open fail.
	os.WriteFile(filepath.Join(h.out, "missing"), nil, 0o644)
	if err := h.w.write(h.message("x"), false); err == nil {
		t.Fatal("open error not reported")
	}
	if len(h.fins.finished()) != 0 {
		t.Fatal("message FINished although it was not written")
	}
}
