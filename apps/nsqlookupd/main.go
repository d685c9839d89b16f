package main

import (
	"flag"
	"io"
	"os"

	"github.com/dropin/nsq/internal/daemonapp"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/nsqlookupd"
)

// fatalPrefix is the prefix of start-up failures, whatever --log-prefix says.
const fatalPrefix = "[nsqlookupd] "

func flagSet(opts *nsqlookupd.Options) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqlookupd", flag.ContinueOnError)

	fs.String("config", "", "path to config file")
	fs.Bool("version", false, "print version string")

	level := opts.LogLevel
	fs.Var(&level, "log-level", "set log verbosity: debug, info, warn, error, or fatal")
	fs.String("log-prefix", opts.LogPrefix, "log message prefix")
	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")

	fs.String("tcp-address", opts.TCPAddress, "<addr>:<port> to listen on for TCP clients")
	fs.String("http-address", opts.HTTPAddress, "<addr>:<port> to listen on for HTTP clients")
	fs.String("broadcast-address", opts.BroadcastAddress, "address of this lookupd node, (default to the OS hostname)")

	fs.Duration("inactive-producer-timeout", opts.InactiveProducerTimeout, "duration of time a producer will remain in the active list since its last ping")
	fs.Duration("tombstone-lifetime", opts.TombstoneLifetime, "duration of time a producer will remain tombstoned if registration remains")
	fs.Bool("metrics-exclude-ephemeral", opts.MetricsExcludeEphemeral, "leave ephemeral topics and channels out of the per-topic series of GET /metrics")
	return fs
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, daemonapp.Signals()))
}

// run is the whole program; it returns the exit status.
func run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	opts := nsqlookupd.NewOptions()
	return daemonapp.App{
		Name:    "nsqlookupd",
		FlagSet: flagSet(opts),
		Options: opts,
		// start-up failures carry the default prefix, whatever --log-prefix says
		LogPrefix: func() string { return fatalPrefix },
		Start: func(logger lg.Logger) (daemonapp.Daemon, error) {
			opts.Logger = daemonapp.NewLogger(stderr, opts.LogPrefix)
			return nsqlookupd.New(opts)
		},
	}.Run(args, stdout, stderr, signals)
}
