package main

import (
	"bytes"
	"errors"
	"io"
	"log"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	src := []string{"--nsqd-tcp-address=a:1"}
	cases := []struct {
		args    []string
		wantErr string
	}{
		{nil, "--topic and --channel are required"},
		{[]string{"--topic=t", "--channel="}, "--topic and --channel are required"},
		{[]string{"--topic=t", "--topic=a,b"}, "--topic is invalid"},
		{[]string{"--topic=t", "--destination-topic=x y"}, "--destination-topic is invalid"},
		{[]string{"--topic=t", "--channel=c!"}, "--channel is invalid"},
		{[]string{"--topic=t"}, "--nsqd-tcp-address or --lookupd-http-address required"},
		{[]string{"--topic=t", "--nsqd-tcp-address=a:1", "--lookupd-http-address=b:1"}, "use --nsqd-tcp-address or --lookupd-http-address not both"},
		{append([]string{"--topic=t"}, src...), "--destination-nsqd-tcp-address required"},
		{append([]string{"--topic=t", "--destination-nsqd-tcp-address=d:1", "--require-json-value=5"}, src...),
			"--require-json-value requires --require-json-field"},
		{append([]string{"--topic=t", "--destination-nsqd-tcp-address=d:1", "--channel=c#ephemeral"}, src...), ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			o, err := parseArgs(append([]string{"nsq_to_nsq"}, c.args...), &stderr)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Validate()
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || err.Error() != c.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, c.wantErr)
			}
			if c.wantErr != "" {
				if code := run(append([]string{"nsq_to_nsq"}, c.args...), &stdout, &stderr, nil); code != 1 {
					t.Fatalf("run exit %d", code)
				}
			}
		})
	}
}

func TestFlagsAndIdentity(t *testing.T) {
	o, err := parseArgs([]string{"nsq_to_nsq", "--topic=t", "--nsqd-tcp-address=a:1", "--destination-nsqd-tcp-address=d:1",
		"--consumer-opt=max_attempts,3", "--producer-opt=user_agent,nope", "--producer-opt=client_id,pid"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.consumer.MaxAttempts != 3 || o.producer.MaxAttempts != 5 {
		t.Fatal("consumer and producer options must go to separate configs")
	}
	if o.producer.ClientID != "pid" || o.consumer.ClientID == "pid" {
		t.Fatal("producer-opt leaked into the consumer")
	}
	want := "nsq_to_nsq/1.3.0 go-nsq/1.1.0"
	if o.producer.UserAgent != want || o.consumer.UserAgent != want || o.consumer.MaxInFlight != 200 {
		t.Fatalf("identity %q %q %d", o.producer.UserAgent, o.consumer.UserAgent, o.consumer.MaxInFlight)
	}
	var stdout bytes.Buffer
	if code := run([]string{"nsq_to_nsq", "--version"}, &stdout, io.Discard, nil); code != 0 || stdout.String() != "nsq_to_nsq v1.3.0\n" {
		t.Fatalf("--version %d %q", code, stdout.String())
	}
	if code := run([]string{"nsq_to_nsq", "--producer-opt=tls_config,x"}, &stdout, io.Discard, nil); code != 2 {
		t.Fatalf("tls_config exit %d", code)
	}
}

func TestJSONFilter(t *testing.T) {
	cases := []struct {
		name      string
		field     string
		value     string
		whitelist []string
		in        string
		out       string // "" = dropped
		wantErr   bool
		logged    string
	}{
		{"not json", "k", "", nil, "plain text", "", false, "ERROR: Unable to decode json: plain text"},
		{"array", "k", "", nil, "[1,2]", "", false, "ERROR: Unable to decode json: [1,2]"},
		{"field present", "k", "", nil, `{"k":1, "z":2}`, `{"k":1, "z":2}`, false, ""},
		{"field missing", "k", "", nil, `{"j":1}`, "", false, ""},
		{"missing with value loops", "k", "5", nil, `{"j":1}`, "", true, "ERROR: missing field to check required value"},
		{"number equals", "k", "5", nil, `{"k":5.0}`, `{"k":5.0}`, false, ""},
		{"number differs", "k", "5", nil, `{"k":6}`, "", false, ""},
		{"string equals", "k", "5", nil, `{"k":"5"}`, `{"k":"5"}`, false, ""},
		{"string must match exactly", "k", "5", nil, `{"k":"5.0"}`, "", false, ""},
		{"text value", "k", "abc", nil, `{"k":"abc"}`, `{"k":"abc"}`, false, ""},
		{"text value vs number", "k", "abc", nil, `{"k":1}`, "", false, ""},
		{"bool never matches", "k", "true", nil, `{"k":true}`, "", false, ""},
		{"whitelist", "", "", []string{"k", "n"}, `{"k":5,"n":1.5,"z":1}`, `{"k":5,"n":1.5}`, false, ""},
		{"whitelist reencodes", "", "", []string{"n", "k"}, `{"n":3,"k":5.0}`, `{"k":5,"n":3}`, false, ""},
		{"whitelist with value", "k", "5", []string{"k", "n"}, `{"k":"5","n":2}`, `{"k":"5","n":2}`, false, ""},
		{"whitelist escapes html", "", "", []string{"h"}, `{"h":"<a&b>"}`, `{"h":"\u003ca\u0026b\u003e"}`, false, ""},
		{"whitelist none present", "", "", []string{"x"}, `{"h":1}`, `{}`, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			o := &options{requireField: c.field, requireValue: c.value, whitelistField: c.whitelist}
			f := newJSONFilter(o, log.New(&logs, "", 0))
			out, keep, err := f.apply([]byte(c.in))
			if c.wantErr != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if c.wantErr && !errors.Is(err, errMissingRequiredField) {
				t.Fatalf("err = %v", err)
			}
			if keep != (c.out != "") || string(out) != c.out {
				t.Fatalf("got %q keep=%v, want %q", out, keep, c.out)
			}
			if !strings.Contains(logs.String(), c.logged) || (c.logged == "" && logs.Len() != 0) {
				t.Fatalf("logged %q, want %q", logs.String(), c.logged)
			}
		})
	}
	if newJSONFilter(&options{}, log.New(io.Discard, "", 0)) != nil {
		t.Fatal("without JSON flags bodies must pass untouched")
	}
}
