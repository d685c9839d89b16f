package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clientapp/apptest"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

const drainTimeout = 20 * time.Second

// inProcess runs nsq_to_file's run with args in a goroutine; stop sends a
// signal and returns the exit status.
type inProcess struct {
	sigs   chan os.Signal
	done   chan int
	stderr testutil.Buffer
}

func startInProcess(tb testing.TB, args ...string) *inProcess {
	tb.Helper()
	p := &inProcess{sigs: make(chan os.Signal, 1), done: make(chan int, 1)}
	go func() { p.done <- run(append([]string{"nsq_to_file"}, args...), io.Discard, &p.stderr, p.sigs) }()
	tb.Cleanup(func() {
		select {
		case p.sigs <- syscall.SIGTERM:
		default:
		}
		select {
		case <-p.done:
		case <-time.After(40 * time.Second):
			tb.Error("nsq_to_file did not stop at cleanup")
		}
	})
	return p
}

func (p *inProcess) signal(tb testing.TB, sig os.Signal) {
	tb.Helper()
	select {
	case p.sigs <- sig:
	case <-time.After(5 * time.Second):
		tb.Fatal("signal not taken")
	}
}

func (p *inProcess) stop(tb testing.TB) int {
	tb.Helper()
	p.signal(tb, syscall.SIGTERM)
	select {
	case code := <-p.done:
		p.done <- code // for cleanup
		return code
	case <-time.After(40 * time.Second):
		tb.Fatalf("nsq_to_file did not drain\n%s", p.stderr.String())
		return -1
	}
}

// readDir returns dir's files (relative path → content), gunzipping
// names ending in .gz.
func readDir(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") && len(data) > 0 {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(data)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func waitSubscribed(tb testing.TB, httpAddr, topic, channel string) {
	tb.Helper()
	testutil.Eventually(tb, 10*time.Second, func() bool {
		s, ok := apptest.ChannelStats(tb, httpAddr, topic, channel)
		return ok && s.ClientCount > 0
	}, "%s/%s not subscribed", topic, channel)
}

func waitDrained(tb testing.TB, httpAddr, topic, channel string, total int64) {
	tb.Helper()
	testutil.Eventually(tb, drainTimeout, func() bool {
		s, ok := apptest.ChannelStats(tb, httpAddr, topic, channel)
		return ok && s.MessageCount >= total && s.Depth == 0 && s.InFlightCount == 0
	}, "%s/%s not drained", topic, channel)
}

func joinLines(bodies [][]byte) string {
	var b strings.Builder
	for _, l := range bodies {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestRoundTripToNSQToFile pipes thousands of lines through the to_nsq and
// nsq_to_file binaries and expects the identical text in the file.
func TestRoundTripToNSQToFile(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	toNSQ := testutil.Build(t, "github.com/dropin/nsq/apps/to_nsq")
	toFile := testutil.Build(t, "github.com/dropin/nsq/apps/nsq_to_file")
	out := t.TempDir()

	var input strings.Builder
	const n = 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&input, "line %05d %s héllo\t%s\n", i, strings.Repeat("x", i%97), `{"k":"v"}`)
	}

	p := testutil.StartProc(t, toFile, nil, "--topic=rt", "--channel=arch", "--nsqd-tcp-address="+tcpAddr,
		"--output-dir="+out, "--sync-interval=200ms", "--filename-format=<TOPIC>.log")
	waitSubscribed(t, httpAddr, "rt", "arch")

	pub := testutil.StartProc(t, toNSQ, strings.NewReader(input.String()), "--topic=rt", "--nsqd-tcp-address="+tcpAddr)
	if code := pub.Wait(t, 60*time.Second); code != 0 {
		t.Fatalf("to_nsq exit %d: %s", code, pub.Stderr.String())
	}
	waitDrained(t, httpAddr, "rt", "arch", n)
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 40*time.Second); code != 0 {
		t.Fatalf("nsq_to_file exit %d: %s", code, p.Stderr.String())
	}
	files := readDir(t, out)
	if len(files) != 1 {
		t.Fatalf("files %v", slices.Collect(mapsKeys(files)))
	}
	if content := files["rt.log"]; content != input.String() {
		t.Fatalf("content differs: %d bytes, want %d", len(content), input.Len())
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestRotateBySizeWithWorkDir(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	out, work := t.TempDir(), t.TempDir()
	p := startInProcess(t, "--topic=rs", "--topic=skipped", "--topic-pattern=^r", "--nsqd-tcp-address="+tcpAddr, "--output-dir="+out, "--work-dir="+work,
		"--rotate-size=1000", "--max-in-flight=10", "--sync-interval=100ms", "--filename-format=<TOPIC><REV>.log")
	waitSubscribed(t, httpAddr, "rs", "nsq_to_file")
	bodies := apptest.Lines(strings.Repeat("s", 40)+"-", 200) // ~44 bytes each with the newline
	apptest.Publish(t, tcpAddr, "rs", bodies...)
	waitDrained(t, httpAddr, "rs", "nsq_to_file", int64(len(bodies)))
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr.String())
	}
	if left := readDir(t, work); len(left) != 0 {
		t.Fatalf("work dir not empty: %v", left)
	}
	if !strings.Contains(p.stderr.String(), "WARNING: skipping topic skipped (doesn't match pattern ^r)") {
		t.Fatalf("no skip warning in %q", p.stderr.String())
	}
	files := readDir(t, out)
	names := slices.Sorted(mapsKeys(files))
	if len(names) < 8 {
		t.Fatalf("only %d files: %v", len(names), names)
	}
	var all string
	for i, name := range names {
		if name != fmt.Sprintf("rs-%06d.log", i) {
			t.Fatalf("file %d is %q", i, name)
		}
		// Rotation is checked before each write: at most one message over.
		if len(files[name]) > 1000+45 {
			t.Fatalf("%s has %d bytes", name, len(files[name]))
		}
		all += files[name]
	}
	if all != joinLines(bodies) {
		t.Fatal("concatenated files differ from the messages")
	}
}

func TestRotateByIntervalGzip(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	out, work := t.TempDir(), t.TempDir()
	p := startInProcess(t, "--topic=ri", "--nsqd-tcp-address="+tcpAddr, "--output-dir="+out, "--work-dir="+work,
		"--rotate-interval=300ms", "--sync-interval=100ms", "--gzip", "--skip-empty-files", "--filename-format=<TOPIC><REV>.log")
	waitSubscribed(t, httpAddr, "ri", "nsq_to_file")
	first := apptest.Lines("first-", 50)
	apptest.Publish(t, tcpAddr, "ri", first...)
	waitDrained(t, httpAddr, "ri", "nsq_to_file", 50)
	// The tick after the interval closes and moves the file (and, with
	// --skip-empty-files, opens none until the next message). On a slow
	// machine an interval may pass mid-batch, so the first batch can span
	// more than one file: wait for the work dir to empty, not for one file.
	testutil.Eventually(t, 10*time.Second, func() bool {
		return len(readDir(t, out)) >= 1 && len(readDir(t, work)) == 0
	}, "file not closed by the rotation interval")
	second := apptest.Lines("second-", 50)
	apptest.Publish(t, tcpAddr, "ri", second...)
	waitDrained(t, httpAddr, "ri", "nsq_to_file", 100)
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr.String())
	}
	files := readDir(t, out)
	names := slices.Sorted(mapsKeys(files))
	// The first batch normally fills the first file alone; however the
	// messages spread over files, no file may hold both batches and the
	// files in revision order must hold everything in order.
	if len(names) < 2 {
		t.Fatalf("files %v", names)
	}
	var all string
	for i, name := range names {
		if name != fmt.Sprintf("ri-%06d.log.gz", i) {
			t.Fatalf("file name %q", name)
		}
		if strings.Contains(files[name], "first-") && strings.Contains(files[name], "second-") {
			t.Fatalf("%s holds both batches", name)
		}
		all += files[name]
	}
	if all != joinLines(first)+joinLines(second) {
		t.Fatalf("contents %q", files)
	}
}

func TestSighupClosesFileProcess(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/nsq_to_file")
	out, work := t.TempDir(), t.TempDir()

	if p := testutil.StartProc(t, bin, nil, "--topic=t", "--nsqd-tcp-address="+tcpAddr, "stray"); p.Wait(t, 10*time.Second) != 1 ||
		!strings.HasSuffix(p.Stderr.String(), " unknown arguments: [stray]\n") {
		t.Fatalf("leftover argument: %q", p.Stderr.String())
	}

	p := testutil.StartProc(t, bin, nil, "--topic=hup", "--nsqd-tcp-address="+tcpAddr, "--output-dir="+out, "--work-dir="+work,
		"--log-level=debug", "--sync-interval=100ms", "--filename-format=<TOPIC><REV>.log")
	waitSubscribed(t, httpAddr, "hup", "nsq_to_file")
	apptest.Publish(t, tcpAddr, "hup", apptest.Lines("a", 10)...)
	waitDrained(t, httpAddr, "hup", "nsq_to_file", 10)
	if len(readDir(t, out)) != 0 {
		t.Fatal("file moved before SIGHUP")
	}
	p.Signal(t, syscall.SIGHUP)
	testutil.Eventually(t, 10*time.Second, func() bool { return len(readDir(t, out)) == 1 }, "SIGHUP did not move the file")
	apptest.Publish(t, tcpAddr, "hup", apptest.Lines("b", 10)...)
	waitDrained(t, httpAddr, "hup", "nsq_to_file", 20)
	p.Signal(t, syscall.SIGINT)
	if code := p.Wait(t, 40*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	files := readDir(t, out)
	names := slices.Sorted(mapsKeys(files))
	if !slices.Equal(names, []string{"hup-000000.log", "hup-000001.log"}) ||
		files[names[0]] != joinLines(apptest.Lines("a", 10)) || files[names[1]] != joinLines(apptest.Lines("b", 10)) {
		t.Fatalf("files %q", files)
	}
	if !strings.Contains(p.Stderr.String(), "[nsq_to_file] ") || !strings.Contains(p.Stderr.String(), " INFO: [hup] syncing ") {
		t.Fatalf("log lines %q", p.Stderr.String())
	}
}

func TestLookupdDiscovery(t *testing.T) {
	lookupTCP, lookupHTTP := lookupdtest.Addrs(lookupdtest.Start(t))
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t, nsqdtest.Lookupds(lookupTCP)))
	apptest.Publish(t, tcpAddr, "disc_a", apptest.Lines("a", 20)...)
	apptest.Publish(t, tcpAddr, "disc_b", apptest.Lines("b", 30)...)
	apptest.Publish(t, tcpAddr, "other", apptest.Lines("o", 5)...)
	out := t.TempDir()
	p := startInProcess(t, "--lookupd-http-address="+lookupHTTP, "--topic-pattern=^disc_", "--topic-refresh=100ms",
		"--output-dir="+out, "--filename-format=<TOPIC>.log", "--sync-interval=100ms", "--consumer-opt=lookupd_poll_interval,100ms")
	waitDrained(t, httpAddr, "disc_a", "nsq_to_file", 20)
	waitDrained(t, httpAddr, "disc_b", "nsq_to_file", 30)
	// A topic created later is picked up by the next refresh.
	apptest.Publish(t, tcpAddr, "disc_c", apptest.Lines("c", 3)...)
	waitDrained(t, httpAddr, "disc_c", "nsq_to_file", 3)
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr.String())
	}
	files := readDir(t, out)
	want := map[string]string{
		"disc_a.log": joinLines(apptest.Lines("a", 20)),
		"disc_b.log": joinLines(apptest.Lines("b", 30)),
		"disc_c.log": joinLines(apptest.Lines("c", 3)),
	}
	if len(files) != len(want) {
		t.Fatalf("files %v", slices.Sorted(mapsKeys(files)))
	}
	for k, v := range want {
		if files[k] != v {
			t.Fatalf("%s = %q", k, files[k])
		}
	}
	if _, ok := apptest.ChannelStats(t, httpAddr, "other", "nsq_to_file"); ok {
		t.Fatal("subscribed to a topic outside the pattern")
	}
}
