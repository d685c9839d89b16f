package main

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadRecords(t *testing.T) {
	cases := []struct {
		in    string
		delim byte
		want  []string
	}{
		{"l1\nl2\n", '\n', []string{"l1", "l2"}},
		{"l1\n\n\nl2\n", '\n', []string{"l1", "l2"}},
		{"l1\nl2\nl3-no-nl", '\n', []string{"l1", "l2", "l3-no-nl"}}, // NSQ would publish "l3-no-n"
		{"a,b,,c", ',', []string{"a", "b", "c"}},
		{"", '\n', nil},
		{"\n\n", '\n', nil},
		{"x\r\n", '\n', []string{"x\r"}},
		{strings.Repeat("z", 200000) + "\n", '\n', []string{strings.Repeat("z", 200000)}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.in[:min(len(c.in), 20)], "\n", `\n`), func(t *testing.T) {
			var got []string
			err := readRecords(strings.NewReader(c.in), c.delim, func(b []byte) error {
				got = append(got, string(b))
				return nil
			})
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestReadRecordsStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := readRecords(strings.NewReader("a\nb\nc\n"), '\n', func([]byte) error {
		n++
		return boom
	})
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("err %v after %d records", err, n)
	}
}

func TestLimiter(t *testing.T) {
	start := time.Unix(0, 0)
	l := newLimiter(5, start) // one token every 200ms, burst 5, starts with 1
	if d := l.reserve(start); d != 0 {
		t.Fatalf("first record waited %s", d)
	}
	if d := l.reserve(start); d != 200*time.Millisecond {
		t.Fatalf("second record waits %s, want 200ms", d)
	}
	// Ten records published back to back take 9 intervals after the first.
	l = newLimiter(5, start)
	now := start
	for i := 0; i < 10; i++ {
		now = now.Add(l.reserve(now))
	}
	if got := now.Sub(start); got != 1800*time.Millisecond {
		t.Fatalf("10 records at rate 5 took %s", got)
	}
	// An idle period refills at most `rate` tokens.
	now = now.Add(time.Hour)
	for i := 0; i < 5; i++ {
		if d := l.reserve(now); d != 0 {
			t.Fatalf("burst record %d waited %s", i, d)
		}
	}
	if d := l.reserve(now); d == 0 {
		t.Fatal("burst exceeded the rate")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
	}{
		{nil, "--topic required"},
		{[]string{"--topic=t", "--delimiter=ab"}, "--delimiter must be a single byte"},
		{[]string{"--topic=t", "--delimiter="}, "--delimiter must be a single byte"},
		{[]string{"--topic=t"}, "--nsqd-tcp-address required"},
		{[]string{"--topic=t", "--nsqd-tcp-address=a:1", "--delimiter=,"}, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(append([]string{"to_nsq"}, c.args...), strings.NewReader(""), &stderr, nil)
			if c.wantErr == "" {
				if code != 0 {
					t.Fatalf("code %d: %s", code, stderr.String())
				}
				return
			}
			if code != 1 || !strings.HasSuffix(stderr.String(), " "+c.wantErr+"\n") {
				t.Fatalf("code %d stderr %q", code, stderr.String())
			}
		})
	}
}

func TestFlags(t *testing.T) {
	o, err := parseArgs([]string{"to_nsq", "--topic=t", "--nsqd-tcp-address=a:1", "--nsqd-tcp-address=b:2",
		"--nsqd-tcp-address=a:1", "--producer-opt=user_agent,x"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := o.addresses(); !slices.Equal(got, []string{"a:1", "b:2"}) {
		t.Fatalf("addresses %v", got)
	}
	if o.producer.UserAgent != "to_nsq/1.3.0 go-nsq/1.1.0" {
		t.Fatalf("user agent %q", o.producer.UserAgent)
	}
	// to_nsq has no --version.
	var stderr bytes.Buffer
	if code := run([]string{"to_nsq", "--version"}, strings.NewReader(""), &stderr, nil); code != 2 {
		t.Fatalf("--version exit %d", code)
	}
	if code := run([]string{"to_nsq", "--producer-opt=backoff_strategy,nope"}, strings.NewReader(""), io.Discard, nil); code != 2 {
		t.Fatalf("bad producer-opt exit %d", code)
	}
}
