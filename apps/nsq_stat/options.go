package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"time"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/clientapp"
)

const appName = "nsq_stat"

// options are nsq_stat's flags.
type options struct {
	showVersion    bool
	topic          string
	channel        string
	nsqdHTTP       cfg.StringList
	lookupdHTTP    cfg.StringList
	interval       time.Duration
	count          int
	countSet       bool // --count given (it has no default)
	connectTimeout time.Duration
	requestTimeout time.Duration
}

// parseArgs parses argv (program name first); a returned clientapp.ErrExit
// carries the exit status for -h or a bad flag.
func parseArgs(argv []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet(argv[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.showVersion, "version", false, "print version")
	fs.StringVar(&o.topic, "topic", "", "NSQ topic")
	fs.StringVar(&o.channel, "channel", "", "NSQ channel")
	fs.DurationVar(&o.interval, "interval", 2*time.Second, "duration of time between polling/printing output")
	fs.DurationVar(&o.connectTimeout, "http-client-connect-timeout", 2*time.Second, "timeout for HTTP connect")
	fs.DurationVar(&o.requestTimeout, "http-client-request-timeout", 5*time.Second, "timeout for HTTP request")
	fs.Var(&o.nsqdHTTP, "nsqd-http-address", "nsqd HTTP address (may be given multiple times)")
	fs.Var(&o.lookupdHTTP, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.IntVar(&o.count, "count", 0, "number of reports (default: forever)")
	if err := clientapp.ParseFlags(fs, argv[1:]); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "count" {
			o.countSet = true
		}
	})
	return o, nil
}

// ShowVersion reports whether --version was given.
func (o *options) ShowVersion() bool { return o.showVersion }

// Validate checks the flags in NSQ's order.
func (o *options) Validate() error {
	switch {
	case o.topic == "" || o.channel == "":
		return errors.New("--topic and --channel are required")
	case o.interval <= 0:
		return errors.New("--interval should be positive")
	case o.connectTimeout <= 0:
		return errors.New("--http-client-connect-timeout should be positive")
	case o.requestTimeout <= 0:
		return errors.New("--http-client-request-timeout should be positive")
	case o.countSet && o.count <= 0:
		return errors.New("--count should be positive")
	case len(o.nsqdHTTP) == 0 && len(o.lookupdHTTP) == 0:
		return errors.New("--nsqd-http-address or --lookupd-http-address required")
	case len(o.nsqdHTTP) > 0 && len(o.lookupdHTTP) > 0:
		return errors.New("use --nsqd-http-address or --lookupd-http-address not both")
	}
	for _, a := range o.nsqdHTTP {
		if strings.HasPrefix(a, "http") {
			return errors.New("--nsqd-http-address error - address should not contain scheme")
		}
	}
	for _, a := range o.lookupdHTTP {
		if strings.HasPrefix(a, "http") {
			return errors.New("--lookupd-http-address error - address should not contain scheme")
		}
	}
	return nil
}
