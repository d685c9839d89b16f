package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clientapp"
)

func TestValidate(t *testing.T) {
	base := []string{"--topic=t", "--channel=c"}
	cases := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--topic=t"}, "--topic and --channel are required"},
		{[]string{"--channel=c"}, "--topic and --channel are required"},
		{append(base, "--interval=0s"), "--interval should be positive"},
		{append(base, "--http-client-connect-timeout=0s"), "--http-client-connect-timeout should be positive"},
		{append(base, "--http-client-request-timeout=-1s"), "--http-client-request-timeout should be positive"},
		{append(base, "--count=0"), "--count should be positive"},
		{base, "--nsqd-http-address or --lookupd-http-address required"},
		{append(base, "--nsqd-http-address=a:1", "--lookupd-http-address=b:2"),
			"use --nsqd-http-address or --lookupd-http-address not both"},
		{append(base, "--nsqd-http-address=http://a:1"), "--nsqd-http-address error - address should not contain scheme"},
		{append(base, "--lookupd-http-address=https://a:1"), "--lookupd-http-address error - address should not contain scheme"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"nsq_stat"}, c.args...), &stdout, &stderr, nil)
			if code != 1 || !strings.HasSuffix(stderr.String(), " "+c.wantErr+"\n") {
				t.Fatalf("code %d stderr %q", code, stderr.String())
			}
		})
	}
	var stdout bytes.Buffer
	if code := run([]string{"nsq_stat", "--version"}, &stdout, &bytes.Buffer{}, nil); code != 0 || stdout.String() != "nsq_stat v1.3.0\n" {
		t.Fatalf("--version: %d %q", code, stdout.String())
	}
	if code := run([]string{"nsq_stat", "--interval=2"}, &stdout, &bytes.Buffer{}, nil); code != 2 {
		t.Fatalf("bare-number duration: exit %d", code)
	}
}

func TestTableRows(t *testing.T) {
	var buf bytes.Buffer
	tb := &table{out: &buf, interval: 2 * time.Second}
	polls := []clientapp.ChannelStats{
		{MessageCount: 100, Depth: 10},
		{MessageCount: 124, Depth: 4, BackendDepth: 1, InFlightCount: 1, ClientCount: 1},
		{MessageCount: 125, Depth: 9, BackendDepth: 9, DeferredCount: 2, RequeueCount: 3, TimeoutCount: 4, ClientCount: 2},
	}
	var printed []bool
	for _, s := range polls {
		if err := tb.beginPoll(); err != nil {
			t.Fatal(err)
		}
		p, err := tb.endPoll(s)
		if err != nil {
			t.Fatal(err)
		}
		printed = append(printed, p)
	}
	want := header +
		"     12      15 |       4       3       1     1     0 |       0       0          124       1\n" +
		"      0      -2 |       9       0       9     0     2 |       3       4          125       2\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if printed[0] || !printed[1] || !printed[2] {
		t.Fatalf("printed %v: the first poll is a silent baseline", printed)
	}
}

func TestTableHeaderEvery25Polls(t *testing.T) {
	var buf bytes.Buffer
	tb := &table{out: &buf, interval: time.Second}
	for i := 0; i < 60; i++ {
		tb.beginPoll()
		tb.endPoll(clientapp.ChannelStats{})
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// header+24 rows, header+25 rows, header+10 rows
	var headers []int
	for i, l := range lines {
		if strings.HasPrefix(l, "------rate") {
			headers = append(headers, i)
		}
	}
	if fmt.Sprint(headers) != "[0 26 53]" || len(lines) != 2+24+2+25+2+10 {
		t.Fatalf("headers at %v, %d lines", headers, len(lines))
	}
}

func TestRunCountAgainstFakeNSQD(t *testing.T) {
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
		switch {
		case r.URL.Path == "/info":
			fmt.Fprintf(w, `{"broadcast_address":"127.0.0.1","http_port":%s}`, r.Host[strings.LastIndex(r.Host, ":")+1:])
		case r.URL.Query().Get("channel") == "":
			fmt.Fprint(w, `{"topics":[{"topic_name":"t","channels":[]}]}`)
		default:
			n := polls.Add(1) * 10
			fmt.Fprintf(w, `{"topics":[{"topic_name":"t","channels":[{"channel_name":"c","message_count":%d,"client_count":1}]}]}`, n)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var stdout, stderr bytes.Buffer
	code := run([]string{"nsq_stat", "--topic=t", "--channel=c", "--nsqd-http-address=" + addr,
		"--interval=10ms", "--count=3"}, &stdout, &stderr, nil)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 5 || polls.Load() != 4 {
		t.Fatalf("%d polls, output:\n%s", polls.Load(), stdout.String())
	}
	// 10 messages per 10ms poll = 1000/s.
	if lines[2] != "   1000    1000 |       0       0       0     0     0 |       0       0           20       1" {
		t.Fatalf("row %q", lines[2])
	}

	// A channel that exists nowhere is fatal.
	stderr.Reset()
	code = run([]string{"nsq_stat", "--topic=t", "--channel=nope", "--nsqd-http-address=" + addr}, &stdout, &stderr, nil)
	if code != 1 || !strings.HasSuffix(stderr.String(), " ERROR: failed to find channel(nope) in stats metadata for topic(t)\n") {
		t.Fatalf("missing channel: exit %d, stderr %q", code, stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	noTopic := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
		fmt.Fprint(w, `{"topics":null}`)
	}))
	defer noTopic.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	cases := []struct {
		name, flag, addr, want string
	}{
		{"topic nowhere", "--nsqd-http-address", strings.TrimPrefix(noTopic.URL, "http://"),
			"ERROR: failed to get nsqd stats - failed to query any nsqd: \n"},
		{"nsqd down", "--nsqd-http-address", downAddr, "ERROR: failed to get topic producers - "},
		{"lookupd down", "--lookupd-http-address", downAddr, "ERROR: failed to get topic producers - "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"nsq_stat", "--topic=t", "--channel=c", c.flag + "=" + c.addr}, &stdout, &stderr, nil)
			if code != 1 || !strings.Contains(stderr.String(), c.want) || stdout.String() != header {
				t.Fatalf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

func TestRunSignalExitsAtOnce(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	sigs := make(chan os.Signal, 1)
	sigs <- os.Interrupt
	code := run([]string{"nsq_stat", "--topic=t", "--channel=c", "--nsqd-http-address=" + strings.TrimPrefix(srv.URL, "http://")},
		&bytes.Buffer{}, &bytes.Buffer{}, sigs)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
}
