package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/clientapp"
)

const appName = "nsq_tail"

// options are nsq_tail's flags.
type options struct {
	showVersion   bool
	topics        cfg.StringList
	channel       string
	nsqdTCP       cfg.StringList
	lookupdHTTP   cfg.StringList
	maxInFlight   int
	totalMessages int
	printTopic    bool
	consumer      *nsq.Config
}

// parseArgs parses argv (program name first) into options; a returned
// clientapp.ErrExit carries the exit status for -h or a bad flag.
func parseArgs(argv []string, stderr io.Writer) (*options, error) {
	o := &options{consumer: nsq.NewConfig()}
	fs := flag.NewFlagSet(argv[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.showVersion, "version", false, "print version string")
	fs.StringVar(&o.channel, "channel", "", "NSQ channel (default: a random ephemeral channel)")
	fs.Var(&o.topics, "topic", "NSQ topic (may be given multiple times)")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 200, "max number of messages to allow in flight")
	fs.IntVar(&o.totalMessages, "n", 0, "total messages to show, per topic (will wait if starved)")
	fs.BoolVar(&o.printTopic, "print-topic", false, "print topic name where message was received")
	fs.Var(&o.nsqdTCP, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&o.lookupdHTTP, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&clientapp.OptionFlag{Config: o.consumer}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if err := clientapp.ParseFlags(fs, argv[1:]); err != nil {
		return nil, err
	}
	return o, nil
}

// ShowVersion reports whether --version was given.
func (o *options) ShowVersion() bool { return o.showVersion }

// Validate checks the flags in NSQ's order and fills in the defaults that
// depend on others (the random channel, the lowered max-in-flight).
func (o *options) Validate() error {
	if o.channel == "" {
		o.channel = fmt.Sprintf("tail%06d#ephemeral", rand.IntN(999999))
	}
	if err := clientapp.CheckAddressSource(o.nsqdTCP, o.lookupdHTTP); err != nil {
		return err
	}
	if len(o.topics) == 0 {
		return errors.New("--topic required")
	}
	// Don't ask for more messages than we are going to print.
	if o.totalMessages > 0 && o.totalMessages < o.maxInFlight {
		o.maxInFlight = o.totalMessages
	}
	// The app's identity and budget win over --consumer-opt, as in NSQ.
	o.consumer.UserAgent = clientapp.UserAgent(appName)
	o.consumer.MaxInFlight = o.maxInFlight
	return nil
}
