package main

import (
	"errors"
	"flag"
	"io"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/clientapp"
)

const appName = "to_nsq"

// options are to_nsq's flags. Like NSQ's to_nsq it has no --version.
type options struct {
	topic     string
	nsqdTCP   cfg.StringList
	delimiter string
	rate      int64
	producer  *nsq.Config
}

// parseArgs parses argv (program name first); a returned clientapp.ErrExit
// carries the exit status for -h or a bad flag.
func parseArgs(argv []string, stderr io.Writer) (*options, error) {
	o := &options{producer: nsq.NewConfig()}
	fs := flag.NewFlagSet(argv[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.topic, "topic", "", "NSQ topic to publish to")
	fs.StringVar(&o.delimiter, "delimiter", "\n", "character to split input from stdin")
	fs.Var(&o.nsqdTCP, "nsqd-tcp-address", "destination nsqd TCP address (may be given multiple times)")
	fs.Int64Var(&o.rate, "rate", 0, "Throttle messages to n/second. 0 to disable")
	fs.Var(&clientapp.OptionFlag{Config: o.producer}, "producer-opt",
		"option to passthrough to nsq.Producer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if err := clientapp.ParseFlags(fs, argv[1:]); err != nil {
		return nil, err
	}
	return o, nil
}

// ShowVersion is false: to_nsq has no --version.
func (o *options) ShowVersion() bool { return false }

// Validate checks the flags in NSQ's order.
func (o *options) Validate() error {
	if o.topic == "" {
		return errors.New("--topic required")
	}
	if len(o.delimiter) != 1 {
		return errors.New("--delimiter must be a single byte")
	}
	if len(o.nsqdTCP) == 0 {
		return errors.New("--nsqd-tcp-address required")
	}
	o.producer.UserAgent = clientapp.UserAgent(appName)
	return nil
}

// addresses returns the destination addresses without repeats, in the
// order first given: NSQ keeps one producer per address string.
func (o *options) addresses() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range o.nsqdTCP {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}
