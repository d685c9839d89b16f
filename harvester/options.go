package harvester

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/version"
)

// LineAction says what happens to a line (or joined multiline event) longer
// than MaxLineBytes. Every case is counted.
type LineAction int

const (
	// Split sends the line as several messages of at most MaxLineBytes
	// bytes each (counted in Stats.LinesSplit). Nothing is lost.
	Split LineAction = iota
	// Truncate sends the first MaxLineBytes bytes and discards the rest
	// (Stats.LinesTruncated).
	Truncate
	// DropLine discards the whole line (Stats.LinesDropped).
	DropLine
)

// String returns the flag spelling: split, truncate or drop.
func (a LineAction) String() string {
	switch a {
	case Split:
		return "split"
	case Truncate:
		return "truncate"
	case DropLine:
		return "drop"
	}
	return fmt.Sprintf("LineAction(%d)", int(a))
}

// Set implements flag.Value.
func (a *LineAction) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "split":
		*a = Split
	case "truncate":
		*a = Truncate
	case "drop":
		*a = DropLine
	default:
		return fmt.Errorf("invalid max line action %q (want split, truncate or drop)", s)
	}
	return nil
}

// Get implements flag.Getter.
func (a *LineAction) Get() any { return *a }

// Options configures a Harvester. NewOptions returns the defaults; the
// file_to_nsq app overlays its flags and config file. Fields with a flag
// tag are set by internal/cfg; list fields are set by the app directly
// (their items may contain commas).
type Options struct {
	LogLevel  lg.Level `flag:"log-level"`
	LogPrefix string   `flag:"log-prefix"`
	Logger    lg.Logger

	// inputs
	Paths          []string      // globs (Go filepath.Match syntax)
	ExcludeFiles   []string      // regexps on matched paths
	ScanFrequency  time.Duration `flag:"scan-frequency"`
	HarvesterLimit int           `flag:"harvester-limit"`
	TailFiles      bool          `flag:"tail-files"`

	// reading
	BufferSize    int           `flag:"harvester-buffer-size"`
	MaxLineBytes  int           `flag:"max-line-bytes"`
	MaxLineAction LineAction    `flag:"max-line-action"`
	Backoff       time.Duration `flag:"backoff"`
	MaxBackoff    time.Duration `flag:"max-backoff"`
	CloseInactive time.Duration `flag:"close-inactive"`
	CloseRemoved  bool          `flag:"close-removed"`
	CloseRenamed  bool          `flag:"close-renamed"`
	CloseEOF      bool          `flag:"close-eof"`
	CleanRemoved  bool          `flag:"clean-removed"`

	// multiline
	MultilinePattern  string        `flag:"multiline-pattern"`
	MultilineNegate   bool          `flag:"multiline-negate"`
	MultilineMatch    string        `flag:"multiline-match"`
	MultilineMaxLines int           `flag:"multiline-max-lines"`
	MultilineTimeout  time.Duration `flag:"multiline-timeout"`

	// output
	Topic            string `flag:"topic"`
	NSQDTCPAddresses []string
	ProducerOpts     []string      // go-nsq options as "name,value"
	BatchSize        int           `flag:"batch-size"`
	BatchBytes       int           `flag:"batch-bytes"`
	BatchTimeout     time.Duration `flag:"batch-timeout"`
	QueueMaxEvents   int           `flag:"queue-max-events"`
	QueueMaxBytes    int           `flag:"queue-max-bytes"`
	OutputBackoff    time.Duration `flag:"output-backoff"`
	OutputMaxBackoff time.Duration `flag:"output-max-backoff"`

	// registry and lifecycle
	RegistryFile    string        `flag:"registry-file"`
	RegistryFlush   time.Duration `flag:"registry-flush"`
	ShutdownTimeout time.Duration `flag:"shutdown-timeout"`
	StatsInterval   time.Duration `flag:"stats-interval"`
}

// NewOptions returns the defaults (Filebeat's where it has one).
func NewOptions() *Options {
	return &Options{
		LogLevel:  lg.INFO,
		LogPrefix: "[file_to_nsq] ",

		ScanFrequency: 10 * time.Second,

		BufferSize:    16 << 10,
		MaxLineBytes:  1 << 20, // nsqd's default --max-msg-size
		MaxLineAction: Split,
		Backoff:       time.Second,
		MaxBackoff:    10 * time.Second,
		CloseInactive: 5 * time.Minute,
		CloseRemoved:  true,
		CleanRemoved:  true,

		MultilineMatch:    "after",
		MultilineMaxLines: 500,
		MultilineTimeout:  5 * time.Second,

		BatchSize:        200,
		BatchBytes:       4 << 20, // under nsqd's default --max-body-size of 5 MiB
		BatchTimeout:     100 * time.Millisecond,
		QueueMaxEvents:   4096,
		QueueMaxBytes:    32 << 20,
		OutputBackoff:    250 * time.Millisecond,
		OutputMaxBackoff: 10 * time.Second,

		RegistryFlush:   time.Second,
		ShutdownTimeout: 0,
		StatsInterval:   30 * time.Second,
	}
}

// ErrInvalidOptions wraps every error Validate returns.
var ErrInvalidOptions = errors.New("invalid options")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
}

// Validate checks required options, ranges and combinations, naming the
// flag at fault.
func (o *Options) Validate() error {
	switch {
	case len(o.Paths) == 0:
		return invalid("--path is required")
	case o.Topic == "":
		return invalid("--topic is required")
	case !names.IsValidTopicName(o.Topic):
		return invalid("--topic %q is not a valid topic name", o.Topic)
	case len(o.NSQDTCPAddresses) == 0:
		return invalid("--nsqd-tcp-address is required")
	case o.RegistryFile == "":
		return invalid("--registry-file is required")
	}
	for _, p := range o.Paths {
		if p == "" {
			return invalid("--path must not be empty")
		}
		if _, err := filepath.Match(p, ""); err != nil {
			return invalid("--path %q: %s", p, err)
		}
	}
	for _, a := range o.NSQDTCPAddresses {
		if a == "" {
			return invalid("--nsqd-tcp-address must not be empty")
		}
	}
	if _, err := compileAll(o.ExcludeFiles); err != nil {
		return invalid("--exclude-files: %s", err)
	}
	positive := []struct {
		name string
		v    int64
	}{
		{"--scan-frequency", int64(o.ScanFrequency)},
		{"--harvester-buffer-size", int64(o.BufferSize)},
		{"--max-line-bytes", int64(o.MaxLineBytes)},
		{"--backoff", int64(o.Backoff)},
		{"--max-backoff", int64(o.MaxBackoff)},
		{"--close-inactive", int64(o.CloseInactive)},
		{"--multiline-max-lines", int64(o.MultilineMaxLines)},
		{"--multiline-timeout", int64(o.MultilineTimeout)},
		{"--batch-size", int64(o.BatchSize)},
		{"--batch-bytes", int64(o.BatchBytes)},
		{"--batch-timeout", int64(o.BatchTimeout)},
		{"--queue-max-events", int64(o.QueueMaxEvents)},
		{"--queue-max-bytes", int64(o.QueueMaxBytes)},
		{"--output-backoff", int64(o.OutputBackoff)},
		{"--output-max-backoff", int64(o.OutputMaxBackoff)},
		{"--stats-interval", int64(o.StatsInterval)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return invalid("%s must be greater than 0", p.name)
		}
	}
	nonNegative := []struct {
		name string
		v    int64
	}{
		{"--harvester-limit", int64(o.HarvesterLimit)},
		{"--registry-flush", int64(o.RegistryFlush)},
		{"--shutdown-timeout", int64(o.ShutdownTimeout)},
	}
	for _, p := range nonNegative {
		if p.v < 0 {
			return invalid("%s must not be negative", p.name)
		}
	}
	switch {
	case o.Backoff > o.MaxBackoff:
		return invalid("--backoff (%s) must not exceed --max-backoff (%s)", o.Backoff, o.MaxBackoff)
	case o.MaxBackoff > o.ScanFrequency:
		return invalid("--max-backoff (%s) must not exceed --scan-frequency (%s)", o.MaxBackoff, o.ScanFrequency)
	case o.OutputBackoff > o.OutputMaxBackoff:
		return invalid("--output-backoff (%s) must not exceed --output-max-backoff (%s)", o.OutputBackoff, o.OutputMaxBackoff)
	case !o.CloseRemoved && o.CleanRemoved:
		return invalid("--close-removed=false requires --clean-removed=false (a state must not be cleaned while its file is still read)")
	case o.BatchSize > o.QueueMaxEvents:
		return invalid("--batch-size (%d) must not exceed --queue-max-events (%d)", o.BatchSize, o.QueueMaxEvents)
	case o.MaxLineBytes+8 > o.BatchBytes:
		return invalid("--max-line-bytes (%d) must leave room for one line in --batch-bytes (%d)", o.MaxLineBytes, o.BatchBytes)
	case o.MaxLineBytes > o.QueueMaxBytes:
		return invalid("--max-line-bytes (%d) must not exceed --queue-max-bytes (%d)", o.MaxLineBytes, o.QueueMaxBytes)
	case o.MaxLineAction != Split && o.MaxLineAction != Truncate && o.MaxLineAction != DropLine:
		return invalid("--max-line-action must be split, truncate or drop")
	}
	if o.MultilinePattern != "" {
		if _, err := regexp.Compile(o.MultilinePattern); err != nil {
			return invalid("--multiline-pattern: %s", err)
		}
	}
	if o.MultilineMatch != "after" && o.MultilineMatch != "before" {
		return invalid("--multiline-match must be after or before, not %q", o.MultilineMatch)
	}
	if _, err := o.nsqConfig(); err != nil {
		return invalid("%s", err)
	}
	return nil
}

// multilineOptions are the flags that mean nothing without
// --multiline-pattern.
var multilineOptions = []string{"multiline-negate", "multiline-match", "multiline-max-lines", "multiline-timeout"}

// ValidateGiven checks the rules that depend on which options were given
// rather than on their values: a multiline option needs
// --multiline-pattern. given reports whether the flag of that name was set
// on the command line or in the config file. Like Validate, its errors
// wrap ErrInvalidOptions.
func (o *Options) ValidateGiven(given func(flag string) bool) error {
	if o.MultilinePattern != "" {
		return nil
	}
	for _, name := range multilineOptions {
		if given(name) {
			return invalid("--%s needs --multiline-pattern", name)
		}
	}
	return nil
}

// nsqConfig builds the go-nsq producer config from ProducerOpts. The
// user agent is always file_to_nsq's, as in NSQ's apps.
func (o *Options) nsqConfig() (*nsq.Config, error) {
	c := nsq.NewConfig()
	for _, opt := range o.ProducerOpts {
		if err := ApplyProducerOpt(c, opt); err != nil {
			return nil, fmt.Errorf("--producer-opt %q: %w", opt, err)
		}
	}
	c.UserAgent = fmt.Sprintf("file_to_nsq/%s go-nsq/%s", version.Binary, nsq.VERSION)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("--producer-opt: %w", err)
	}
	return c, nil
}

// ApplyProducerOpt sets one "name,value" option (split at the first comma,
// "-" in the name read as "_", a bare name meaning true) on c. Options that
// make go-nsq panic are rejected with an error instead.
func ApplyProducerOpt(c *nsq.Config, opt string) error {
	name, value, found := strings.Cut(opt, ",")
	name = strings.ReplaceAll(strings.TrimSpace(name), "-", "_")
	if !found {
		value = "true"
	}
	switch name {
	case "":
		return fmt.Errorf("empty option name in %q", opt)
	case "tls_config":
		return fmt.Errorf("tls_config cannot be set from the command line; use tls_v1, tls_root_ca_file, tls_insecure_skip_verify, tls_cert, tls_key, tls_min_version")
	case "backoff_strategy":
		if value != "exponential" && value != "full_jitter" {
			return fmt.Errorf("invalid backoff_strategy %q (want exponential or full_jitter)", value)
		}
	case "tls_v1", "tls_insecure_skip_verify", "deflate", "snappy", "skip_lookupd_authorization":
		if _, err := strconv.ParseBool(value); err != nil {
			return fmt.Errorf("invalid %s %q: %w", name, value, err)
		}
	}
	if err := setConfig(c, name, value); err != nil {
		return err
	}
	return nil
}

// setConfig calls c.Set, turning a panic inside go-nsq's reflection into
// an error so that no option value can crash the program.
func setConfig(c *nsq.Config, name, value string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid %s %q: %v", name, value, r)
		}
	}()
	return c.Set(name, value)
}

func compileAll(exprs []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(exprs))
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}
