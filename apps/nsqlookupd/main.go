// Command nsqlookupd is NSQ's discovery daemon: it maps nsqlookupd's flags
// and config file onto nsqlookupd.Options, runs the daemon and stops it
// cleanly on SIGINT or SIGTERM.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/version"
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
	return fs
}

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, signals))
}

// run is the whole program; it returns the exit status.
func run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	fatal := func(format string, a ...any) int {
		l := log.New(stderr, fatalPrefix, log.Ldate|log.Ltime|log.Lmicroseconds)
		l.Printf("FATAL: "+format, a...)
		return 1
	}

	opts := nsqlookupd.NewOptions()
	fs := flagSet(opts)
	fs.SetOutput(io.Discard) // errors are reported as FATAL lines below
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "Usage of nsqlookupd:")
			fs.PrintDefaults()
			return 0
		}
		return fatal("%s", err)
	}
	if fs.NArg() > 0 {
		return fatal("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	if fs.Lookup("version").Value.String() == "true" {
		fmt.Fprintln(stdout, version.String("nsqlookupd"))
		return 0
	}

	file, err := cfg.LoadFile(fs.Lookup("config").Value.String())
	if err != nil {
		return fatal("%s", err)
	}
	if err := cfg.Resolve(opts, fs, file); err != nil {
		return fatal("%s", err)
	}
	opts.Logger = log.New(stderr, opts.LogPrefix, log.Ldate|log.Ltime|log.Lmicroseconds)

	n, err := nsqlookupd.New(opts)
	if err != nil {
		return fatal("failed to instantiate nsqlookupd - %s", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	select {
	case <-signals:
		n.Exit()
		<-done
		return 0
	case err := <-done:
		n.Exit()
		if err != nil {
			return fatal("%s", err)
		}
		return 0
	}
}
