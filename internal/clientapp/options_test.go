package clientapp

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
)

func TestSetOption(t *testing.T) {
	cases := []struct {
		opt     string
		wantErr string // substring; "" means success
		check   func(*nsq.Config) bool
	}{
		{"read_timeout,10s", "", func(c *nsq.Config) bool { return c.ReadTimeout == 10*time.Second }},
		{"read-timeout,20s", "", func(c *nsq.Config) bool { return c.ReadTimeout == 20*time.Second }},
		{"snappy", "", func(c *nsq.Config) bool { return c.Snappy }},
		{"deflate,t", "", func(c *nsq.Config) bool { return c.Deflate }},
		{"client_id,a,b", "", func(c *nsq.Config) bool { return c.ClientID == "a,b" }},
		{"max_attempts,7", "", func(c *nsq.Config) bool { return c.MaxAttempts == 7 }},
		{"lookupd_poll_jitter,0.5", "", func(c *nsq.Config) bool { return c.LookupdPollJitter == 0.5 }},
		{"backoff_strategy,full_jitter", "", func(c *nsq.Config) bool { _, ok := c.BackoffStrategy.(*nsq.FullJitterStrategy); return ok }},
		{"local_addr,127.0.0.1:0", "", func(c *nsq.Config) bool { return c.LocalAddr != nil }},
		{"tls_min_version,tls1.2", "", func(c *nsq.Config) bool { return c.TlsConfig != nil }},
		{"read_timeout,1000", `missing unit in duration "1000"`, nil},
		{"read_timeout,10m", "invalid read_timeout ! 10m0s > 5m0s", nil},
		{"read_timeout,1ms", "invalid read_timeout ! 1ms < 100ms", nil},
		{"bogus,1", "invalid option bogus", nil},
		{"bogus", "invalid option bogus", nil},
		{"deflate,maybe", "invalid syntax", nil},
		{"tls_config,x", "tls_config cannot be set", nil},
		{"tls_config", "tls_config cannot be set", nil},
		{"backoff_strategy,linear", `invalid backoff_strategy "linear"`, nil},
		{"backoff_strategy", `invalid backoff_strategy ""`, nil},
		{"local_addr", "option local_addr needs a value", nil},
		{"local_addr,nonsense", "missing port", nil},
		{"tls_cert", "option tls_cert needs a value", nil},
		{"client_id", "option client_id needs a value", nil},
		{"tls_min_version,tls9", "is not a tls version", nil},
		{"tls_root_ca_file,/nonexistent/ca.pem", "failed to read custom Certificate Authority file", nil},
		{"max_in_flight,-1", "invalid max_in_flight ! -1 < 0", nil},
		{"sample_rate,100", "invalid sample_rate ! 100 > 99", nil},
	}
	for _, c := range cases {
		t.Run(c.opt, func(t *testing.T) {
			cfg := nsq.NewConfig()
			err := SetOption(cfg, c.opt)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("SetOption(%q) = %v", c.opt, err)
				}
				if !c.check(cfg) {
					t.Fatalf("SetOption(%q) did not take effect", c.opt)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("SetOption(%q) = %v, want error containing %q", c.opt, err, c.wantErr)
			}
		})
	}
}

func TestOptionFlagLaterWins(t *testing.T) {
	cfg := nsq.NewConfig()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&OptionFlag{Config: cfg}, "consumer-opt", "")
	if err := fs.Parse([]string{"--consumer-opt=max_attempts,3", "--consumer-opt", "max_attempts,9"}); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxAttempts != 9 {
		t.Fatalf("max_attempts = %d, want 9", cfg.MaxAttempts)
	}
	// Range errors of the combination only show at Validate, which
	// NewConsumer calls.
	if err := fs.Parse([]string{"--consumer-opt=heartbeat_interval,90s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := nsq.NewConsumer("t", "c", cfg); err == nil ||
		err.Error() != "HeartbeatInterval 1m30s must be less than ReadTimeout 1m0s" {
		t.Fatalf("NewConsumer = %v", err)
	}
}

func TestParseFlagsExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		want error
	}{
		{[]string{"--n=1"}, nil},
		{[]string{"-h"}, ErrExit{Code: 0}},
		{[]string{"--help"}, ErrExit{Code: 0}},
		{[]string{"--nope"}, ErrExit{Code: 2}},
		{[]string{"--n=x"}, ErrExit{Code: 2}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.Int("n", 0, "")
			if got := ParseFlags(fs, c.args); got != c.want {
				t.Fatalf("ParseFlags(%v) = %v, want %v", c.args, got, c.want)
			}
		})
	}
}

func TestCheckAddressSource(t *testing.T) {
	cases := []struct {
		name          string
		nsqd, lookupd []string
		want          error
	}{
		{"neither", nil, nil, ErrNoAddress},
		{"both", []string{"a:1"}, []string{"b:2"}, ErrBothAddress},
		{"nsqd", []string{"a:1"}, nil, nil},
		{"lookupd", nil, []string{"b:2", "c:3"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CheckAddressSource(c.nsqd, c.lookupd); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	if ErrNoAddress.Error() != "--nsqd-tcp-address or --lookupd-http-address required" ||
		ErrBothAddress.Error() != "use --nsqd-tcp-address or --lookupd-http-address not both" {
		t.Fatal("address errors lost NSQ's wording")
	}
}

func TestIdentityStrings(t *testing.T) {
	if got := UserAgent("nsq_tail"); got != "nsq_tail/1.3.0 go-nsq/1.1.0" {
		t.Fatalf("UserAgent = %q", got)
	}
	if got := VersionLine("nsq_stat"); got != "nsq_stat v1.3.0" {
		t.Fatalf("VersionLine = %q", got)
	}
}
