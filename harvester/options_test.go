package harvester

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
)

func validOptions() *Options {
	o := NewOptions()
	o.Paths = []string{"/var/log/*.log"}
	o.Topic = "logs"
	o.NSQDTCPAddresses = []string{"127.0.0.1:4150"}
	o.RegistryFile = "/tmp/registry.json"
	return o
}

// checkValidation fails the test unless err is nil (want "") or an
// ErrInvalidOptions containing want.
func checkValidation(tb testing.TB, err error, want string) {
	tb.Helper()
	if want == "" {
		if err != nil {
			tb.Fatalf("unexpected error %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalidOptions) {
		tb.Fatalf("error %v, want one containing %q", err, want)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(o *Options)
		want   string // substring of the error; "" = valid
	}{
		{"defaults are valid", func(o *Options) {}, ""},
		{"no path", func(o *Options) { o.Paths = nil }, "--path is required"},
		{"bad glob", func(o *Options) { o.Paths = []string{"/var/[log"} }, "--path"},
		{"no topic", func(o *Options) { o.Topic = "" }, "--topic is required"},
		{"bad topic", func(o *Options) { o.Topic = "a b" }, "not a valid topic name"},
		{"no nsqd", func(o *Options) { o.NSQDTCPAddresses = nil }, "--nsqd-tcp-address is required"},
		{"no registry", func(o *Options) { o.RegistryFile = "" }, "--registry-file is required"},
		{"close-removed off, clean-removed on", func(o *Options) { o.CloseRemoved = false }, "--close-removed=false requires --clean-removed=false"},
		{"both off", func(o *Options) { o.CloseRemoved, o.CleanRemoved = false, false }, ""},
		{"backoff above max", func(o *Options) { o.Backoff = time.Minute }, "--backoff"},
		{"max backoff above scan", func(o *Options) { o.ScanFrequency = time.Second }, "--max-backoff"},
		{"bad multiline pattern", func(o *Options) { o.MultilinePattern = "(" }, "--multiline-pattern"},
		{"bad multiline match", func(o *Options) { o.MultilineMatch = "middle" }, "--multiline-match"},
		{"batch above queue", func(o *Options) { o.BatchSize = o.QueueMaxEvents + 1 }, "--batch-size"},
		{"line above batch bytes", func(o *Options) { o.MaxLineBytes = o.BatchBytes }, "--max-line-bytes"},
		{"zero batch timeout", func(o *Options) { o.BatchTimeout = 0 }, "--batch-timeout must be greater than 0"},
		{"negative limit", func(o *Options) { o.HarvesterLimit = -1 }, "--harvester-limit"},
		{"bad exclude", func(o *Options) { o.ExcludeFiles = []string{"("} }, "--exclude-files"},
		{"bad producer opt", func(o *Options) { o.ProducerOpts = []string{"read_timeout,1000"} }, `--producer-opt "read_timeout,1000"`},
		{"unknown producer opt", func(o *Options) { o.ProducerOpts = []string{"nope,1"} }, `--producer-opt "nope,1"`},
		{"producer opts at odds", func(o *Options) { o.ProducerOpts = []string{"read_timeout,5s", "heartbeat_interval,10s"} }, "--producer-opt: "},
		{"good producer opt", func(o *Options) { o.ProducerOpts = []string{"dial-timeout,2s", "snappy"} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.modify(o)
			checkValidation(t, o.Validate(), tc.want)
		})
	}
}

func TestOptionsValidateGiven(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		given   []string
		want    string // substring of the error; "" = valid
	}{
		{"nothing given", "", nil, ""},
		{"other options", "", []string{"path", "topic", "batch-size"}, ""},
		{"negate without pattern", "", []string{"multiline-negate"}, "--multiline-negate needs --multiline-pattern"},
		{"match without pattern", "", []string{"topic", "multiline-match"}, "--multiline-match needs --multiline-pattern"},
		{"max lines without pattern", "", []string{"multiline-max-lines"}, "--multiline-max-lines needs --multiline-pattern"},
		{"timeout without pattern", "", []string{"multiline-timeout"}, "--multiline-timeout needs --multiline-pattern"},
		{"with pattern", "^ ", []string{"multiline-negate", "multiline-match", "multiline-max-lines", "multiline-timeout"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			o.MultilinePattern = tc.pattern
			checkValidation(t, o.ValidateGiven(func(name string) bool { return slices.Contains(tc.given, name) }), tc.want)
		})
	}
}

func TestApplyProducerOpt(t *testing.T) {
	tests := []struct {
		opt     string
		wantErr bool
		check   func(c *nsq.Config) bool
	}{
		{"dial_timeout,3s", false, func(c *nsq.Config) bool { return c.DialTimeout == 3*time.Second }},
		{"write-timeout,2s", false, func(c *nsq.Config) bool { return c.WriteTimeout == 2*time.Second }},
		{"deflate", false, func(c *nsq.Config) bool { return c.Deflate }},
		{"client_id,a,b", false, func(c *nsq.Config) bool { return c.ClientID == "a,b" }},
		{"tls_config,x", true, nil},
		{"backoff_strategy,bogus", true, nil},
		{"backoff_strategy,full_jitter", false, nil},
		{"read_timeout,10m", true, nil},
		{"snappy,maybe", true, nil},
		{",1", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.opt, func(t *testing.T) {
			c := nsq.NewConfig()
			err := ApplyProducerOpt(c, tc.opt)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("option not applied: %+v", c)
			}
		})
	}
}
