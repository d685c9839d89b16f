package main

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no address", []string{"--topic=t"}, "--nsqd-tcp-address or --lookupd-http-address required"},
		{"both addresses", []string{"--topic=t", "--nsqd-tcp-address=a:1", "--lookupd-http-address=b:2"},
			"use --nsqd-tcp-address or --lookupd-http-address not both"},
		{"no topic", []string{"--nsqd-tcp-address=a:1"}, "--topic required"},
		{"address checked before topic", nil, "--nsqd-tcp-address or --lookupd-http-address required"},
		{"ok", []string{"--nsqd-tcp-address=a:1", "--topic=t"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := parseArgs(append([]string{"nsq_tail"}, c.args...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Validate()
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || err.Error() != c.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	o, err := parseArgs([]string{"nsq_tail", "--nsqd-tcp-address=a:1", "--topic=t",
		"--consumer-opt=user_agent,mine", "--consumer-opt=max_in_flight,7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^tail\d{6}#ephemeral$`).MatchString(o.channel) {
		t.Fatalf("default channel %q", o.channel)
	}
	if o.consumer.UserAgent != "nsq_tail/1.3.0 go-nsq/1.1.0" || o.consumer.MaxInFlight != 200 {
		t.Fatalf("user_agent %q max_in_flight %d: the app's values must win", o.consumer.UserAgent, o.consumer.MaxInFlight)
	}
}

func TestMaxInFlightLoweredToN(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"-n", "5"}, 5},
		{[]string{"-n", "500"}, 200},
		{[]string{"-n", "0"}, 200},
		{[]string{"-n", "5", "--max-in-flight=3"}, 3},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			o, err := parseArgs(append([]string{"nsq_tail", "--nsqd-tcp-address=a:1", "--topic=t"}, c.args...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			if o.consumer.MaxInFlight != c.want {
				t.Fatalf("max_in_flight = %d, want %d", o.consumer.MaxInFlight, c.want)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--consumer-opt=bogus,1"}, 2, `invalid value "bogus,1" for flag -consumer-opt: invalid option bogus`},
		{[]string{"--consumer-opt=tls_config,x"}, 2, "tls_config cannot be set"},
		{[]string{"--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"-h"}, 0, "Usage of nsq_tail:"},
	}
	for _, c := range cases {
		t.Run(c.args[0], func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := parseArgs(append([]string{"nsq_tail"}, c.args...), &stderr)
			var exit clientapp.ErrExit
			if !errors.As(err, &exit) || exit.Code != c.code || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("err %v, stderr %q", err, stderr.String())
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	cases := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"--version"}, 0, "nsq_tail v1.3.0\n", ""},
		{[]string{"--topic=t"}, 1, "", "--nsqd-tcp-address or --lookupd-http-address required\n"},
		{[]string{"--topic=a,b", "--nsqd-tcp-address=127.0.0.1:1"}, 1, "", "invalid topic name\n"},
		{[]string{"--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--consumer-opt=heartbeat_interval,2m"}, 1, "",
			"HeartbeatInterval 2m0s must be less than ReadTimeout 1m0s\n"},
		{[]string{"--bad"}, 2, "", "flag provided but not defined"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"nsq_tail"}, c.args...), &stdout, &stderr, nil)
			if code != c.code || stdout.String() != c.stdout || !strings.Contains(stderr.String(), c.stderr) {
				t.Fatalf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

func TestPrinter(t *testing.T) {
	cases := []struct {
		printTopic bool
		body       string
		want       string
	}{
		{false, "hello", "hello\n"},
		{true, "hello", "t1 | hello\n"},
		{false, "a\nb", "a\nb\n"},
		{false, "", "\n"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		p := &printer{out: &buf, printTopic: c.printTopic}
		if err := p.print("t1", []byte(c.body)); err != nil || buf.String() != c.want {
			t.Errorf("print(%q, topic=%v) = %q, %v; want %q", c.body, c.printTopic, buf.String(), err, c.want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestHandlerLimitAndWriteError(t *testing.T) {
	var ended []error
	var buf bytes.Buffer
	h := &tailHandler{topic: "t", p: &printer{out: &buf}, limit: 2, finish: func(err error) { ended = append(ended, err) }}
	m1 := nsq.NewMessage(nsq.MessageID{'1'}, []byte("one"))
	m2 := nsq.NewMessage(nsq.MessageID{'2'}, []byte("two"))
	if err := h.HandleMessage(m1); err != nil || m1.IsAutoResponseDisabled() || len(ended) != 0 {
		t.Fatalf("first message: err %v, ended %v", err, ended)
	}
	if err := h.HandleMessage(m2); err != nil || !m2.IsAutoResponseDisabled() || len(ended) != 1 || ended[0] != errLimitReached {
		t.Fatalf("limit message: err %v, ended %v (it must stay unanswered)", err, ended)
	}
	m3 := nsq.NewMessage(nsq.MessageID{'3'}, []byte("three"))
	if err := h.HandleMessage(m3); err != nil || !m3.IsAutoResponseDisabled() || len(ended) != 1 {
		t.Fatalf("message after the limit: err %v, ended %v", err, ended)
	}
	if buf.String() != "one\ntwo\n" {
		t.Fatalf("output %q", buf.String())
	}

	ended = nil
	h = &tailHandler{topic: "t", p: &printer{out: failWriter{}}, finish: func(err error) { ended = append(ended, err) }}
	m4 := nsq.NewMessage(nsq.MessageID{'4'}, []byte("x"))
	if err := h.HandleMessage(m4); err != nil || !m4.IsAutoResponseDisabled() || len(ended) != 1 ||
		!strings.Contains(ended[0].Error(), "broken pipe") {
		t.Fatalf("write error: err %v, ended %v", err, ended)
	}
}
