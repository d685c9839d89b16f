package main

import (
	"os"
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

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func messageCount(tb testing.TB, httpAddr, topic, channel string) int64 {
	tb.Helper()
	s, _ := apptest.ChannelStats(tb, httpAddr, topic, channel)
	return s.MessageCount
}

// startInProcess runs nsq_to_nsq's run in a goroutine; the returned stop
// sends SIGTERM and returns the exit status.
func startInProcess(tb testing.TB, stderr *testutil.Buffer, args ...string) (stop func() int) {
	tb.Helper()
	sigs := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() { done <- run(append([]string{"nsq_to_nsq"}, args...), &testutil.Buffer{}, stderr, sigs) }()
	stopped := false
	stop = func() int {
		if !stopped {
			stopped = true
			sigs <- syscall.SIGTERM
		}
		select {
		case code := <-done:
			return code
		case <-time.After(40 * time.Second):
			tb.Fatalf("nsq_to_nsq did not drain\n%s", stderr.String())
			return -1
		}
	}
	tb.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return stop
}

func TestCopyEveryMessageRoundRobinProcess(t *testing.T) {
	srcTCP, srcHTTP := nsqdtest.Addrs(nsqdtest.Start(t))
	dst1TCP, dst1HTTP := nsqdtest.Addrs(nsqdtest.Start(t))
	dst2TCP, dst2HTTP := nsqdtest.Addrs(nsqdtest.Start(t))
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/nsq_to_nsq")

	if p := testutil.StartProc(t, bin, nil, "--topic=t", "--nsqd-tcp-address="+srcTCP); p.Wait(t, 10*time.Second) != 1 ||
		!strings.HasSuffix(p.Stderr.String(), " --destination-nsqd-tcp-address required\n") {
		t.Fatalf("missing destination: %q", p.Stderr.String())
	}

	const n = 1000
	apptest.Publish(t, srcTCP, "copy", apptest.Lines("m", n)...)
	// Channels on the destinations first, so that every copy is counted.
	for _, addr := range []string{dst1TCP, dst2TCP} {
		apptest.Publish(t, addr, "copy", []byte("seed"))
		apptest.Consume(t, addr, "copy", "check", 1, 10*time.Second)
	}
	p := testutil.StartProc(t, bin, nil, "--topic=copy", "--nsqd-tcp-address="+srcTCP,
		"--destination-nsqd-tcp-address="+dst1TCP, "--destination-nsqd-tcp-address="+dst2TCP, "--mode=round-robin",
		"--status-every=100")
	testutil.Eventually(t, 30*time.Second, func() bool {
		return apptest.Drained(t, srcHTTP, "copy", "nsq_to_nsq") &&
			messageCount(t, dst1HTTP, "copy", "check")+messageCount(t, dst2HTTP, "copy", "check") == n+2
	}, "not all messages copied")
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 40*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	c1, c2 := messageCount(t, dst1HTTP, "copy", "check")-1, messageCount(t, dst2HTTP, "copy", "check")-1
	if c1 != n/2 || c2 != n/2 {
		t.Fatalf("round-robin split %d/%d", c1, c2)
	}
	got := append(strs(apptest.Consume(t, dst1TCP, "copy", "check", n/2, 10*time.Second)),
		strs(apptest.Consume(t, dst2TCP, "copy", "check", n/2, 10*time.Second))...)
	slices.Sort(got)
	want := strs(apptest.Lines("m", n))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatal("copied bodies differ from the originals")
	}
	for _, prefix := range []string{"[aggregate]: finished 100 - 99th: ", "[" + dst1TCP + "]: finished 100", "[" + dst2TCP + "]: finished 100"} {
		if !strings.Contains(p.Stderr.String(), prefix) {
			t.Errorf("no %q status line", prefix)
		}
	}
	if uas := apptest.ClientUserAgents(t, srcHTTP, "copy", "nsq_to_nsq"); len(uas) != 0 {
		t.Fatalf("consumer still connected after drain: %v", uas)
	}
}

func TestLookupdSourceWhitelistAndDestinationTopic(t *testing.T) {
	lookupTCP, lookupHTTP := lookupdtest.Addrs(lookupdtest.Start(t))
	srcTCP, srcHTTP := nsqdtest.Addrs(nsqdtest.Start(t, nsqdtest.Lookupds(lookupTCP)))
	dstTCP, dstHTTP := nsqdtest.Addrs(nsqdtest.Start(t))
	bodies := [][]byte{
		[]byte(`{"k":5,"n":1.5,"z":1}`),
		[]byte(`{"k":"5","n":2}`),
		[]byte(`{"k":6,"n":3}`), // dropped: value differs
		[]byte(`not json`),      // dropped
		[]byte(`{"n":4}`),       // missing field with a required value: requeued until given up
		[]byte(`{"k":5.0,"n":3}`),
	}
	apptest.Publish(t, srcTCP, "js", bodies...)
	apptest.Publish(t, dstTCP, "filtered", []byte(`seed`))
	apptest.Consume(t, dstTCP, "filtered", "out", 1, 10*time.Second)

	var stderr testutil.Buffer
	stop := startInProcess(t, &stderr, "--topic=js", "--lookupd-http-address="+lookupHTTP,
		"--destination-nsqd-tcp-address="+dstTCP, "--destination-topic=filtered",
		"--require-json-field=k", "--require-json-value=5", "--whitelist-json-field=k", "--whitelist-json-field=n",
		"--consumer-opt=max_attempts,2", "--consumer-opt=default_requeue_delay,0s", "--consumer-opt=max_backoff_duration,0",
		"--mode=epsilon-greedy")
	testutil.Eventually(t, 30*time.Second, func() bool {
		return apptest.Drained(t, srcHTTP, "js", "nsq_to_nsq") && messageCount(t, dstHTTP, "filtered", "out") == 4
	}, "filtered messages not copied")
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got := strs(apptest.Consume(t, dstTCP, "filtered", "out", 3, 10*time.Second))
	slices.Sort(got)
	want := []string{`{"k":"5","n":2}`, `{"k":5,"n":1.5}`, `{"k":5,"n":3}`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, line := range []string{"ERROR: Unable to decode json: not json", "ERROR: missing field to check required value", "giving up"} {
		if !strings.Contains(stderr.String(), line) {
			t.Errorf("stderr lacks %q", line)
		}
	}
}

func TestHostpoolAvoidsDeadDestination(t *testing.T) {
	srcTCP, srcHTTP := nsqdtest.Addrs(nsqdtest.Start(t))
	dstTCP, dstHTTP := nsqdtest.Addrs(nsqdtest.Start(t))
	const n = 200
	apptest.Publish(t, srcTCP, "hp", apptest.Lines("h", n)...)
	apptest.Publish(t, dstTCP, "hp", []byte("seed"))
	apptest.Consume(t, dstTCP, "hp", "out", 1, 10*time.Second)
	var stderr testutil.Buffer
	stop := startInProcess(t, &stderr, "--topic=hp", "--nsqd-tcp-address="+srcTCP,
		"--destination-nsqd-tcp-address=127.0.0.1:1", "--destination-nsqd-tcp-address="+dstTCP,
		"--consumer-opt=default_requeue_delay,0s", "--consumer-opt=max_backoff_duration,0")
	testutil.Eventually(t, 30*time.Second, func() bool {
		return apptest.Drained(t, srcHTTP, "hp", "nsq_to_nsq") && messageCount(t, dstHTTP, "hp", "out") == n+1
	}, "messages not all delivered to the live destination")
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
