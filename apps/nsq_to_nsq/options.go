package main

import (
	"errors"
	"flag"
	"io"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/clientapp"
	"github.com/dropin/nsq/internal/names"
)

const appName = "nsq_to_nsq"

// options are nsq_to_nsq's flags.
type options struct {
	showVersion    bool
	topics         cfg.StringList
	channel        string
	destTopic      string
	nsqdTCP        cfg.StringList
	lookupdHTTP    cfg.StringList
	destNSQDTCP    cfg.StringList
	maxInFlight    int
	mode           string
	statusEvery    int
	requireField   string
	requireValue   string
	whitelistField cfg.StringList
	consumer       *nsq.Config
	producer       *nsq.Config
}

// parseArgs parses argv (program name first); a returned clientapp.ErrExit
// carries the exit status for -h or a bad flag.
func parseArgs(argv []string, stderr io.Writer) (*options, error) {
	o := &options{consumer: nsq.NewConfig(), producer: nsq.NewConfig()}
	fs := flag.NewFlagSet(argv[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.showVersion, "version", false, "print version string")
	fs.Var(&o.topics, "topic", "nsq topic (may be given multiple times)")
	fs.StringVar(&o.channel, "channel", "nsq_to_nsq", "nsq channel")
	fs.StringVar(&o.destTopic, "destination-topic", "", "use this destination topic for all consumed topics (default is consumed topic name)")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 200, "max number of messages to allow in flight")
	fs.IntVar(&o.statusEvery, "status-every", 250, "the # of requests between logging status (per destination), 0 disables")
	fs.StringVar(&o.mode, "mode", "hostpool", "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy")
	fs.Var(&o.nsqdTCP, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&o.destNSQDTCP, "destination-nsqd-tcp-address", "destination nsqd TCP address (may be given multiple times)")
	fs.Var(&o.lookupdHTTP, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.StringVar(&o.requireField, "require-json-field", "", "for JSON messages: only pass messages that contain this field")
	fs.StringVar(&o.requireValue, "require-json-value", "", "for JSON messages: only pass messages in which the required field has this value")
	fs.Var(&o.whitelistField, "whitelist-json-field", "for JSON messages: pass this field (may be given multiple times)")
	fs.Var(&clientapp.OptionFlag{Config: o.consumer}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	fs.Var(&clientapp.OptionFlag{Config: o.producer}, "producer-opt",
		"option to passthrough to nsq.Producer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if err := clientapp.ParseFlags(fs, argv[1:]); err != nil {
		return nil, err
	}
	return o, nil
}

// ShowVersion reports whether --version was given.
func (o *options) ShowVersion() bool { return o.showVersion }

// Validate checks the flags in NSQ's order and with its texts.
func (o *options) Validate() error {
	if len(o.topics) == 0 || o.channel == "" {
		return errors.New("--topic and --channel are required")
	}
	for _, t := range o.topics {
		if !names.IsValidTopicName(t) {
			return errors.New("--topic is invalid")
		}
	}
	if o.destTopic != "" && !names.IsValidTopicName(o.destTopic) {
		return errors.New("--destination-topic is invalid")
	}
	if !names.IsValidChannelName(o.channel) {
		return errors.New("--channel is invalid")
	}
	if err := clientapp.CheckAddressSource(o.nsqdTCP, o.lookupdHTTP); err != nil {
		return err
	}
	if len(o.destNSQDTCP) == 0 {
		return errors.New("--destination-nsqd-tcp-address required")
	}
	// NSQ silently ignores a required value without a required field; an
	// accepted flag must work, so refuse the combination instead.
	if o.requireValue != "" && o.requireField == "" {
		return errors.New("--require-json-value requires --require-json-field")
	}
	o.consumer.UserAgent = clientapp.UserAgent(appName)
	o.consumer.MaxInFlight = o.maxInFlight
	o.producer.UserAgent = clientapp.UserAgent(appName)
	return nil
}
