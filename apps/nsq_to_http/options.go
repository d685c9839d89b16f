package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/clientapp"
)

const (
	appName            = "nsq_to_http"
	defaultContentType = "application/octet-stream"
)

// options are nsq_to_http's flags.
type options struct {
	showVersion    bool
	topic          string
	channel        string
	nsqdTCP        cfg.StringList
	lookupdHTTP    cfg.StringList
	maxInFlight    int
	numPublishers  int
	postAddrs      cfg.StringList
	getAddrs       cfg.StringList
	headerFlags    cfg.StringList
	contentType    string
	mode           string
	sample         float64
	connectTimeout time.Duration
	requestTimeout time.Duration
	statusEvery    int
	consumer       *nsq.Config

	headers []header // parsed --header values, in order
}

// header is one parsed --header.
type header struct{ key, value string }

// parseArgs parses argv (program name first); a returned clientapp.ErrExit
// carries the exit status for -h or a bad flag.
func parseArgs(argv []string, stderr io.Writer) (*options, error) {
	o := &options{consumer: nsq.NewConfig()}
	fs := flag.NewFlagSet(argv[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.showVersion, "version", false, "print version string")
	fs.StringVar(&o.topic, "topic", "", "nsq topic")
	fs.StringVar(&o.channel, "channel", "nsq_to_http", "nsq channel")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 200, "max number of messages to allow in flight")
	fs.IntVar(&o.numPublishers, "n", 100, "number of concurrent publishers")
	fs.StringVar(&o.mode, "mode", "hostpool", "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy")
	fs.DurationVar(&o.connectTimeout, "http-client-connect-timeout", 2*time.Second, "timeout for HTTP connect")
	fs.DurationVar(&o.requestTimeout, "http-client-request-timeout", 20*time.Second, "timeout for HTTP request")
	fs.IntVar(&o.statusEvery, "status-every", 250, "the # of requests between logging status (per handler), 0 disables")
	fs.StringVar(&o.contentType, "content-type", defaultContentType, "the Content-Type used for POST requests")
	fs.Float64Var(&o.sample, "sample", 1.0, "% of messages to publish (float b/w 0 -> 1)")
	fs.Var(&o.postAddrs, "post", "HTTP address to make a POST request to.  data will be in the body (may be given multiple times)")
	fs.Var(&o.getAddrs, "get", "HTTP address to make a GET request to. '%s' will be printf replaced with data (may be given multiple times)")
	fs.Var(&o.headerFlags, "header", "Custom header for HTTP requests, as 'Key: Value' (may be given multiple times)")
	fs.Var(&o.nsqdTCP, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&o.lookupdHTTP, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&clientapp.OptionFlag{Config: o.consumer}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if err := clientapp.ParseFlags(fs, argv[1:]); err != nil {
		return nil, err
	}
	return o, nil
}

// parseHeader splits "Key: Value" at the first colon.
func parseHeader(s string) (header, bool) {
	k, v, ok := strings.Cut(s, ":")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" || v == "" {
		return header{}, false
	}
	return header{key: k, value: v}, true
}

// ShowVersion reports whether --version was given.
func (o *options) ShowVersion() bool { return o.showVersion }

// Validate checks the flags in NSQ's order and with its texts.
func (o *options) Validate() error {
	for _, h := range o.headerFlags {
		parsed, ok := parseHeader(h)
		if !ok {
			// NSQ's text says '=' although the separator is ':'.
			return errors.New("--header value format should be 'key=value'")
		}
		o.headers = append(o.headers, parsed)
	}
	if o.topic == "" || o.channel == "" {
		return errors.New("--topic and --channel are required")
	}
	if o.contentType != defaultContentType {
		if len(o.postAddrs) == 0 {
			return errors.New("--content-type only used with --post")
		}
		if o.contentType == "" {
			return errors.New("--content-type requires a value when used")
		}
	}
	if err := clientapp.CheckAddressSource(o.nsqdTCP, o.lookupdHTTP); err != nil {
		return err
	}
	if len(o.getAddrs) == 0 && len(o.postAddrs) == 0 {
		return errors.New("--get or --post required")
	}
	if len(o.getAddrs) > 0 && len(o.postAddrs) > 0 {
		return errors.New("use --get or --post not both")
	}
	for _, a := range o.getAddrs {
		if strings.Count(a, "%s") != 1 {
			return errors.New("invalid GET address - must be a printf string")
		}
	}
	if o.sample > 1.0 || o.sample < 0.0 {
		return errors.New("ERROR: --sample must be between 0.0 and 1.0")
	}
	// NSQ accepts -n 0 and then never handles a message; refuse it.
	if o.numPublishers < 1 {
		return errors.New("-n must be at least 1")
	}
	o.consumer.UserAgent = clientapp.UserAgent(appName)
	o.consumer.MaxInFlight = o.maxInFlight
	return nil
}
