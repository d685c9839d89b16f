package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/clientapp"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
)

const appName = "nsq_to_file"

// options are nsq_to_file's flags.
type options struct {
	showVersion    bool
	logLevelName   string
	logPrefix      string
	channel        string
	maxInFlight    int
	outputDir      string
	workDir        string
	datetimeFormat string
	filenameFormat string
	hostIdentifier string
	gzipLevel      int
	gzip           bool
	skipEmptyFiles bool
	topicRefresh   time.Duration
	topicPattern   string
	rotateSize     int64
	rotateInterval time.Duration
	syncInterval   time.Duration
	connectTimeout time.Duration
	requestTimeout time.Duration
	nsqdTCP        cfg.StringList
	lookupdHTTP    cfg.StringList
	topics         cfg.StringList
	consumer       *nsq.Config

	leftover []string       // positional arguments (an error)
	logLevel lg.Level       // parsed --log-level
	pattern  *regexp.Regexp // parsed --topic-pattern, nil when empty
}

// parseArgs parses argv (program name first); a returned clientapp.ErrExit
// carries the exit status for -h or a bad flag. NSQ names this flag set
// "nsqd" (its -h says "Usage of nsqd:"); we use the program name.
//
// NSQ's nsq_to_file silently ignores a bad --consumer-opt; we reject it
// with exit 2 like the other apps, so that an accepted option always
// works.
func parseArgs(argv []string, stderr io.Writer) (*options, error) {
	o := &options{consumer: nsq.NewConfig()}
	fs := flag.NewFlagSet(argv[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.showVersion, "version", false, "print version string")
	fs.StringVar(&o.logLevelName, "log-level", "info", "set log verbosity: debug, info, warn, error, or fatal")
	fs.StringVar(&o.logPrefix, "log-prefix", "[nsq_to_file] ", "log message prefix")
	fs.StringVar(&o.channel, "channel", "nsq_to_file", "nsq channel")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 200, "max number of messages to allow in flight")
	fs.StringVar(&o.outputDir, "output-dir", "/tmp", "directory to write output files to")
	fs.StringVar(&o.workDir, "work-dir", "", "directory for in-progress files before moving to output-dir")
	fs.StringVar(&o.datetimeFormat, "datetime-format", "%Y-%m-%d_%H", "strftime compatible format for <DATETIME> in filename format")
	fs.StringVar(&o.filenameFormat, "filename-format", "<TOPIC>.<HOST><REV>.<DATETIME>.log", "output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased when file already exists)")
	fs.StringVar(&o.hostIdentifier, "host-identifier", "", "value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens")
	fs.IntVar(&o.gzipLevel, "gzip-level", 6, "gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)")
	fs.BoolVar(&o.gzip, "gzip", false, "gzip output files.")
	fs.BoolVar(&o.skipEmptyFiles, "skip-empty-files", false, "skip writing empty files")
	fs.DurationVar(&o.topicRefresh, "topic-refresh", time.Minute, "how frequently the topic list should be refreshed")
	fs.StringVar(&o.topicPattern, "topic-pattern", "", "only log topics matching the following pattern")
	fs.Int64Var(&o.rotateSize, "rotate-size", 0, "rotate the file when it grows bigger than `rotate-size` bytes")
	fs.DurationVar(&o.rotateInterval, "rotate-interval", 0, "rotate the file every duration")
	fs.DurationVar(&o.syncInterval, "sync-interval", 30*time.Second, "sync file to disk every duration")
	fs.DurationVar(&o.connectTimeout, "http-client-connect-timeout", 2*time.Second, "timeout for HTTP connect")
	fs.DurationVar(&o.requestTimeout, "http-client-request-timeout", 5*time.Second, "timeout for HTTP request")
	fs.Var(&o.nsqdTCP, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&o.lookupdHTTP, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&o.topics, "topic", "nsq topic (may be given multiple times)")
	fs.Var(&clientapp.OptionFlag{Config: o.consumer}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if err := clientapp.ParseFlags(fs, argv[1:]); err != nil {
		return nil, err
	}
	o.leftover = fs.Args()
	return o, nil
}

// gzipLevelIfOn is the gzip level, or 0 without --gzip.
func (o *options) gzipLevelIfOn() int {
	if !o.gzip {
		return 0
	}
	return o.gzipLevel
}

// needRev reports whether file names need <REV> to stay apart.
func (o *options) needRev() bool {
	return o.gzip || o.rotateSize > 0 || o.rotateInterval > 0 || o.workDir != o.outputDir
}

// ShowVersion reports whether --version was given.
func (o *options) ShowVersion() bool { return o.showVersion }

// Validate checks the flags in NSQ's order and with its texts, then the
// combinations on which NSQ misbehaves.
func (o *options) Validate() error {
	if len(o.leftover) > 0 {
		return fmt.Errorf("unknown arguments: %v", o.leftover)
	}
	level, err := lg.ParseLevel(o.logLevelName)
	if err != nil {
		return errors.New("--log-level is invalid")
	}
	o.logLevel = level
	if o.channel == "" {
		return errors.New("--channel is required")
	}
	if o.connectTimeout <= 0 {
		return errors.New("--http-client-connect-timeout should be positive")
	}
	if o.requestTimeout <= 0 {
		return errors.New("--http-client-request-timeout should be positive")
	}
	switch clientapp.CheckAddressSource(o.nsqdTCP, o.lookupdHTTP) {
	case clientapp.ErrNoAddress:
		return errors.New("--nsqd-tcp-address or --lookupd-http-address required.")
	case clientapp.ErrBothAddress:
		return errors.New("use --nsqd-tcp-address or --lookupd-http-address not both")
	}
	if o.gzipLevel < 1 || o.gzipLevel > 9 {
		return fmt.Errorf("invalid --gzip-level value (%d), should be 1-9", o.gzipLevel)
	}
	if len(o.topics) == 0 && o.topicPattern == "" {
		return errors.New("--topic or --topic-pattern required")
	}
	if len(o.topics) == 0 && len(o.lookupdHTTP) == 0 {
		return errors.New("--lookupd-http-address must be specified when no --topic specified")
	}
	return o.validateBeyondNSQ()
}

// validateBeyondNSQ rejects, at start-up and with exit 1, inputs that
// NSQ's nsq_to_file accepts and then mishandles: a missing <REV> (NSQ
// logs an error per topic and idles forever), a bad --topic-pattern,
// a non-positive --sync-interval or --topic-refresh (NSQ panics), and the
// topic/channel names or consumer options go-nsq would refuse per topic.
func (o *options) validateBeyondNSQ() error {
	if o.workDir == "" {
		o.workDir = o.outputDir
	}
	o.workDir, o.outputDir = filepath.Clean(o.workDir), filepath.Clean(o.outputDir)
	if o.needRev() && !strings.Contains(o.filenameFormat, "<REV>") {
		return errMissingRev
	}
	if o.topicPattern != "" {
		re, err := regexp.Compile(o.topicPattern)
		if err != nil {
			return fmt.Errorf("--topic-pattern is invalid: %w", err)
		}
		o.pattern = re
	}
	if o.syncInterval <= 0 {
		return errors.New("--sync-interval should be positive")
	}
	if len(o.topics) == 0 && o.topicRefresh <= 0 {
		return errors.New("--topic-refresh should be positive")
	}
	if !names.IsValidChannelName(o.channel) {
		return errors.New("invalid channel name")
	}
	for _, t := range o.topics {
		if !names.IsValidTopicName(t) {
			return fmt.Errorf("invalid topic name %q", t)
		}
	}
	o.consumer.UserAgent = clientapp.UserAgent(appName)
	o.consumer.MaxInFlight = o.maxInFlight
	return o.consumer.Validate()
}
