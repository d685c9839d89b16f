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
)

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func TestFanOutToEveryNSQDProcess(t *testing.T) {
	tcp1, http1 := nsqdtest.Addrs(nsqdtest.Start(t))
	tcp2, http2 := nsqdtest.Addrs(nsqdtest.Start(t))
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/to_nsq")
	p := testutil.StartProc(t, bin, strings.NewReader("a\nb\n\nlast-no-newline"),
		"--topic=fan", "--nsqd-tcp-address="+tcp1, "--nsqd-tcp-address="+tcp2, "--nsqd-tcp-address="+tcp1)
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	want := []string{"a", "b", "last-no-newline"}
	for _, addr := range []string{tcp1, tcp2} {
		// A repeated address gets each record once: producers are per address.
		got := strs(apptest.Consume(t, addr, "fan", "c", 3, 10*time.Second))
		if !slices.Equal(got, want) {
			t.Fatalf("%s got %q, want %q", addr, got, want)
		}
	}
	for _, addr := range []string{http1, http2} {
		if s, _ := apptest.ChannelStats(t, addr, "fan", "c"); s.MessageCount != 3 {
			t.Fatalf("%s: %d messages, want 3", addr, s.MessageCount)
		}
	}
	if code := testutil.StartProc(t, bin, nil, "--version").Wait(t, 10*time.Second); code != 2 {
		t.Fatalf("--version exit %d, want 2 (to_nsq has none)", code)
	}
}

func TestDelimiterAndRateInProcess(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	var stderr testutil.Buffer
	code := run([]string{"to_nsq", "--topic=delim", "--nsqd-tcp-address=" + tcpAddr, "--delimiter=,", "--rate=1000",
		"--producer-opt=snappy"}, strings.NewReader("x,y,,z"), &stderr, nil)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Throttling messages rate to max:1000/second") {
		t.Fatalf("stderr %q", stderr.String())
	}
	if got := strs(apptest.Consume(t, tcpAddr, "delim", "c", 3, 10*time.Second)); !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Fatalf("got %q", got)
	}
	if s, _ := apptest.ChannelStats(t, httpAddr, "delim", "c"); s.MessageCount != 3 {
		t.Fatalf("%d messages, want 3", s.MessageCount)
	}
}

func TestPublishErrorIsFatal(t *testing.T) {
	tcpAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	var stderr testutil.Buffer
	// The topic name is only checked by nsqd.
	code := run([]string{"to_nsq", "--topic=bad!topic", "--nsqd-tcp-address=" + tcpAddr},
		strings.NewReader("a\n"), &stderr, nil)
	if code != 1 || !strings.Contains(stderr.String(), "E_BAD_TOPIC") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var stderr2 testutil.Buffer // go-nsq may still log into the first one
	code = run([]string{"to_nsq", "--topic=t", "--nsqd-tcp-address=127.0.0.1:1"}, strings.NewReader("a\n"), &stderr2, nil)
	if code != 1 || !strings.Contains(stderr2.String(), "failed to publish") {
		t.Fatalf("nsqd down: exit %d: %s", code, stderr2.String())
	}
}

func TestSignalStopsWhileReadingProcess(t *testing.T) {
	tcpAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/to_nsq")
	// A real pipe that stays open: stdin never reaches EOF.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := testutil.StartProc(t, bin, r, "--topic=sig", "--nsqd-tcp-address="+tcpAddr)
	r.Close()
	if _, err := w.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if got := strs(apptest.Consume(t, tcpAddr, "sig", "c", 1, 10*time.Second)); got[0] != "one" {
		t.Fatalf("got %q", got)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
}
