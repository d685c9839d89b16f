package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestStrftime(t *testing.T) {
	at := time.Date(2026, time.November, 5, 6, 7, 8, 0, time.FixedZone("XST", -7*3600))
	cases := []struct{ format, want string }{
		{"%Y-%m-%d_%H", "2026-11-05_06"},
		{"%Y%m%d-%H%M", "20261105-0607"},
		{"%y %I %M %S %p", "26 06 07 08 AM"},
		{"%B %b %A %a", "November Nov Thursday Thu"},
		{"%Z %z", "XST -0700"},
		{"100%%", "100%"},
		{"%j stays", "%j stays"},
		{"trailing %", "trailing %"},
		// NSQ would turn the literal "1" into the month ("v11-2026"); we keep it.
		{"v1-%Y", "v1-2026"},
		{"Jan-Mon-%d", "Jan-Mon-05"},
	}
	for _, c := range cases {
		if got := strftime(c.format, at); got != c.want {
			t.Errorf("strftime(%q) = %q, want %q", c.format, got, c.want)
		}
	}
}

func TestNamer(t *testing.T) {
	at := time.Date(2026, time.November, 25, 6, 53, 0, 0, time.Local)
	base := nameConfig{
		filenameFormat: "<TOPIC>.<HOST><REV>.<DATETIME>.log",
		datetimeFormat: "%Y-%m-%d_%H",
		hostname:       "vm.example.com",
		shortHostname:  "vm",
		pid:            12011,
	}
	cases := []struct {
		name   string
		mutate func(*nameConfig)
		rev    int
		want   string
	}{
		{"default", func(*nameConfig) {}, 0, "ft.vm.2026-11-25_06.log"},
		{"gzip", func(c *nameConfig) { c.gzip, c.needRev = true, true }, 0, "ft.vm-000000.2026-11-25_06.log.gz"},
		{"pid and rev", func(c *nameConfig) {
			c.gzip, c.needRev = true, true
			c.filenameFormat = "<TOPIC>.<HOST><REV>.<PID>.<DATETIME>.log"
			c.datetimeFormat = "%Y%m%d-%H%M"
		}, 3, "ft.vm-000003.12011.20261125-0653.log.gz"},
		{"gz suffix kept", func(c *nameConfig) { c.gzip, c.needRev, c.filenameFormat = true, true, "<TOPIC><REV>.gz" }, 1, "ft-000001.gz"},
		{"host identifier", func(c *nameConfig) { c.hostIdentifier = "id-<SHORT_HOST>-<HOSTNAME>" }, 0, "ft.id-vm-vm.example.com.2026-11-25_06.log"},
		{"subdirs", func(c *nameConfig) { c.filenameFormat = "<TOPIC>/<DATETIME>/<HOST>.log" }, 0, "ft/2026-11-25_06/vm.log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.mutate(&cfg)
			n, err := newNamer(cfg, "ft")
			if err != nil {
				t.Fatal(err)
			}
			if got := n.name(at, c.rev); got != c.want {
				t.Fatalf("name = %q, want %q", got, c.want)
			}
		})
	}
	cfg := base
	cfg.filenameFormat, cfg.needRev = "<TOPIC>.<DATETIME>.log", true
	if _, err := newNamer(cfg, "ft"); !errors.Is(err, errMissingRev) {
		t.Fatalf("missing <REV>: %v", err)
	}
}

func TestValidate(t *testing.T) {
	src := []string{"--nsqd-tcp-address=a:1"}
	withSrc := func(args ...string) []string { return append(append([]string{}, src...), args...) }
	cases := []struct {
		args    []string
		wantErr string
	}{
		{withSrc("--topic=t", "extra", "args"), "unknown arguments: [extra args]"},
		{withSrc("--topic=t", "--log-level=loud"), "--log-level is invalid"},
		{withSrc("--topic=t", "--channel="), "--channel is required"},
		{withSrc("--topic=t", "--http-client-connect-timeout=0s"), "--http-client-connect-timeout should be positive"},
		{withSrc("--topic=t", "--http-client-request-timeout=0s"), "--http-client-request-timeout should be positive"},
		{[]string{"--topic=t"}, "--nsqd-tcp-address or --lookupd-http-address required."},
		{withSrc("--topic=t", "--lookupd-http-address=b:1"), "use --nsqd-tcp-address or --lookupd-http-address not both"},
		{withSrc("--topic=t", "--gzip-level=0"), "invalid --gzip-level value (0), should be 1-9"},
		{withSrc("--topic=t", "--gzip-level=10"), "invalid --gzip-level value (10), should be 1-9"},
		{src, "--topic or --topic-pattern required"},
		{withSrc("--topic-pattern=x"), "--lookupd-http-address must be specified when no --topic specified"},
		{withSrc("--topic=t", "--gzip", "--filename-format=<TOPIC>.log"), errMissingRev.Error()},
		{withSrc("--topic=t", "--rotate-size=10", "--filename-format=<TOPIC>.log"), errMissingRev.Error()},
		{withSrc("--topic=t", "--rotate-interval=1m", "--filename-format=<TOPIC>.log"), errMissingRev.Error()},
		{withSrc("--topic=t", "--work-dir=/w", "--filename-format=<TOPIC>.log"), errMissingRev.Error()},
		{withSrc("--topic=t", "--topic-pattern=("), "--topic-pattern is invalid"},
		{withSrc("--topic=t", "--sync-interval=0s"), "--sync-interval should be positive"},
		{[]string{"--lookupd-http-address=b:1", "--topic-pattern=.", "--topic-refresh=0s"}, "--topic-refresh should be positive"},
		{withSrc("--topic=a,b"), `invalid topic name "a,b"`},
		{withSrc("--topic=t", "--channel=c c"), "invalid channel name"},
		{withSrc("--topic=t", "--consumer-opt=heartbeat_interval,2m"), "HeartbeatInterval 2m0s must be less than ReadTimeout 1m0s"},
		{withSrc("--topic=t", "--filename-format=<TOPIC>.log"), ""},
		{withSrc("--topic=t", "--work-dir=/tmp/", "--filename-format=<TOPIC>.log"), ""},
		{[]string{"--lookupd-http-address=b:1", "--topic-pattern=^x"}, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			o, err := parseArgs(append([]string{"nsq_to_file"}, c.args...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Validate()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestConsumerOptsOverridden(t *testing.T) {
	o, err := parseArgs([]string{"nsq_to_file", "--topic=t", "--nsqd-tcp-address=a:1", "--max-in-flight=17",
		"--consumer-opt=max_in_flight,3", "--consumer-opt=user_agent,x"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.consumer.MaxInFlight != 17 || o.consumer.UserAgent != "nsq_to_file/1.3.0 go-nsq/1.1.0" {
		t.Fatalf("max_in_flight %d, user_agent %q", o.consumer.MaxInFlight, o.consumer.UserAgent)
	}
	// Unlike NSQ we refuse a bad --consumer-opt instead of ignoring it.
	if _, err := parseArgs([]string{"nsq_to_file", "--consumer-opt=bogus,1"}, io.Discard); err == nil {
		t.Fatal("bogus consumer option accepted")
	}
}
