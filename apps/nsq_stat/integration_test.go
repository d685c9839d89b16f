package main

import (
	"bytes"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clientapp/apptest"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// prepare gives channel st/c 10 messages of which 4 were consumed,
// leaving depth 6.
func prepare(tb testing.TB, tcpAddr string) {
	tb.Helper()
	apptest.Publish(tb, tcpAddr, "st", apptest.Lines("s", 4)...)
	apptest.Consume(tb, tcpAddr, "st", "c", 4, 10*time.Second)
	apptest.Publish(tb, tcpAddr, "st", apptest.Lines("s", 6)...)
}

const wantRow = "      0       0 |       6       6       0     0     0 |       0       0           10       0"

func checkTable(tb testing.TB, out string, rows int) {
	tb.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2+rows || lines[0]+"\n"+lines[1]+"\n" != header {
		tb.Fatalf("output:\n%s", out)
	}
	for _, l := range lines[2:] {
		// The consumer that read 4 messages may still be counted as a
		// client for a moment; compare the rest exactly.
		if l[:len(wantRow)-8] != wantRow[:len(wantRow)-8] {
			tb.Fatalf("row %q, want %q", l, wantRow)
		}
		if f := strings.Fields(l); f[len(f)-1] != "0" && f[len(f)-1] != "1" {
			tb.Fatalf("clients in %q", l)
		}
	}
}

func TestStatNSQDProcess(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	prepare(t, tcpAddr)
	testutil.Eventually(t, 10*time.Second, func() bool {
		s, _ := apptest.ChannelStats(t, httpAddr, "st", "c")
		return s.InFlightCount == 0 && s.ClientCount == 0
	}, "consumer still attached")
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/nsq_stat")
	p := testutil.StartProc(t, bin, nil, "--topic=st", "--channel=c", "--nsqd-http-address="+httpAddr,
		"--interval=50ms", "--count=3")
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	checkTable(t, p.Stdout.String(), 3)

	// Without --count it runs until a signal; SIGHUP ends it too.
	p = testutil.StartProc(t, bin, nil, "--topic=st", "--channel=c", "--nsqd-http-address="+httpAddr, "--interval=50ms")
	testutil.Eventually(t, 10*time.Second, func() bool { return strings.Count(p.Stdout.String(), "\n") >= 3 }, "no rows")
	p.Signal(t, syscall.SIGHUP)
	if code := p.Wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGHUP", code)
	}
}

func TestStatLookupdAndErrors(t *testing.T) {
	lookupTCP, lookupHTTP := lookupdtest.Addrs(lookupdtest.Start(t))
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t, nsqdtest.Lookupds(lookupTCP)))
	prepare(t, tcpAddr)
	testutil.Eventually(t, 10*time.Second, func() bool {
		s, _ := apptest.ChannelStats(t, httpAddr, "st", "c")
		return s.ClientCount == 0
	}, "consumer still attached")
	cases := []struct {
		name string
		args []string
		code int
		rows int
		err  string
	}{
		{"lookupd", []string{"--topic=st", "--channel=c", "--lookupd-http-address=" + lookupHTTP, "--count=2"}, 0, 2, ""},
		{"missing channel", []string{"--topic=st", "--channel=nope", "--nsqd-http-address=" + httpAddr}, 1, 0,
			"ERROR: failed to find channel(nope) in stats metadata for topic(st)\n"},
		{"unknown topic via nsqd", []string{"--topic=none", "--channel=c", "--nsqd-http-address=" + httpAddr}, 1, 0,
			"ERROR: failed to get nsqd stats - failed to query any nsqd: \n"},
		{"unknown topic via lookupd", []string{"--topic=none", "--channel=c", "--lookupd-http-address=" + lookupHTTP}, 1, 0,
			"ERROR: failed to get topic producers - "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"nsq_stat", "--interval=50ms"}, c.args...), &stdout, &stderr, nil)
			if code != c.code || !strings.Contains(stderr.String(), c.err) {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			checkTable(t, stdout.String(), c.rows)
		})
	}
}

func TestStatRates(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	apptest.Publish(t, tcpAddr, "rate", []byte("x"))
	apptest.Consume(t, tcpAddr, "rate", "c", 1, 10*time.Second)
	// Publish between polls: the second row must show the increase in
	// msgs and depth whatever the timing, and ingress = delta / interval.
	var stdout, stderr testutil.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"nsq_stat", "--topic=rate", "--channel=c", "--nsqd-http-address=" + httpAddr,
			"--interval=1s", "--count=2"}, &stdout, &stderr, nil)
	}()
	testutil.Eventually(t, 10*time.Second, func() bool { return strings.Count(stdout.String(), "\n") == 3 }, "no first row")
	apptest.Publish(t, tcpAddr, "rate", apptest.Lines("r", 7)...)
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	// ingress egress | total mem disk inflt def | req t-o msgs clients
	prev, cur := strings.Fields(lines[2]), strings.Fields(lines[3])
	num := func(f []string, i int) int {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			t.Fatalf("field %d of %q: %v", i, f, err)
		}
		return n
	}
	// The publish normally lands between the two polls (k = 7), but the
	// relations below hold whenever it lands.
	k := num(cur, 11) - num(prev, 11)
	if k != 0 && k != 7 {
		t.Fatalf("rows %q / %q", lines[2], lines[3])
	}
	if num(cur, 0) != k || num(cur, 1) != k-(num(cur, 3)-num(prev, 3)) || num(cur, 3) != num(cur, 4)+num(cur, 5) {
		t.Fatalf("rates inconsistent: %q after %q", lines[3], lines[2])
	}
}
