package main

import (
	"fmt"
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

func TestTailNPerTopicInProcess(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	var stdout, stderr testutil.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"nsq_tail", "--topic=tail_a", "--channel=keep", "--nsqd-tcp-address=" + tcpAddr,
			"-n", "3", "--print-topic"}, &stdout, &stderr, nil)
	}()
	testutil.Eventually(t, 10*time.Second, func() bool {
		_, ok := apptest.ChannelStats(t, httpAddr, "tail_a", "keep")
		return ok
	}, "nsq_tail did not subscribe")
	apptest.Publish(t, tcpAddr, "tail_a", apptest.Lines("msg", 10)...)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nsq_tail -n 3 did not exit")
	}
	want := "tail_a | msg0\ntail_a | msg1\ntail_a | msg2\n"
	if stdout.String() != want {
		t.Fatalf("stdout %q, want %q", stdout.String(), want)
	}
	if !strings.Contains(stderr.String(), "Adding consumer for topic: tail_a") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestTailProcessDrainsOnSignal(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/nsq_tail")

	if p := testutil.StartProc(t, bin, nil, "--version"); p.Wait(t, 10*time.Second) != 0 || p.Stdout.String() != "nsq_tail v1.3.0\n" {
		t.Fatalf("--version: %q", p.Stdout.String())
	}
	if p := testutil.StartProc(t, bin, nil, "--topic=x"); p.Wait(t, 10*time.Second) != 1 ||
		!strings.HasSuffix(p.Stderr.String(), " --nsqd-tcp-address or --lookupd-http-address required\n") {
		t.Fatalf("missing address: %q", p.Stderr.String())
	}

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t1, t2 := "tail_p1_"+fmt.Sprint(int(sig)), "tail_p2_"+fmt.Sprint(int(sig))
			p := testutil.StartProc(t, bin, nil, "--topic="+t1, "--topic="+t2, "--nsqd-tcp-address="+tcpAddr)
			var channel string
			testutil.Eventually(t, 10*time.Second, func() bool {
				for _, line := range strings.Split(p.Stderr.String(), "\n") {
					if i := strings.Index(line, "["+t1+"/"); i >= 0 {
						channel = strings.TrimSuffix(strings.Fields(line[i+len(t1)+2:])[0], "]")
						_, ok1 := apptest.ChannelStats(t, httpAddr, t1, channel)
						_, ok2 := apptest.ChannelStats(t, httpAddr, t2, channel)
						return ok1 && ok2
					}
				}
				return false
			}, "nsq_tail did not subscribe: %s", p.Stderr.String())
			if !strings.HasPrefix(channel, "tail") || !strings.HasSuffix(channel, "#ephemeral") {
				t.Fatalf("default channel %q", channel)
			}
			apptest.Publish(t, tcpAddr, t1, apptest.Lines("one-", 50)...)
			apptest.Publish(t, tcpAddr, t2, apptest.Lines("two-", 50)...)
			testutil.Eventually(t, 10*time.Second, func() bool {
				return strings.Count(p.Stdout.String(), "\n") == 100
			}, "printed %d of 100 lines", strings.Count(p.Stdout.String(), "\n"))
			p.Signal(t, sig)
			if code := p.Wait(t, 40*time.Second); code != 0 {
				t.Fatalf("exit %d: %s", code, p.Stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(p.Stdout.String(), "\n"), "\n")
			slices.Sort(lines)
			want := append(apptest.Lines("one-", 50), apptest.Lines("two-", 50)...)
			for i, w := range want {
				if !slices.Contains(lines, string(w)) {
					t.Fatalf("line %d %q missing from output", i, w)
				}
			}
		})
	}
}

func TestTailUserAgentSeenByNSQD(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	var stdout, stderr testutil.Buffer
	sigs := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"nsq_tail", "--topic=ua", "--channel=c", "--nsqd-tcp-address=" + tcpAddr,
			"--consumer-opt=user_agent,ignored"}, &stdout, &stderr, sigs)
	}()
	var ua string
	testutil.Eventually(t, 10*time.Second, func() bool {
		uas := apptest.ClientUserAgents(t, httpAddr, "ua", "c")
		if len(uas) == 1 {
			ua = uas[0]
		}
		return ua != ""
	}, "client not listed")
	if ua != "nsq_tail/1.3.0 go-nsq/1.1.0" {
		t.Fatalf("user_agent %q", ua)
	}
	sigs <- os.Interrupt
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}
