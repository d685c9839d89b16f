package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// The addresses the go-nsq suite hard-codes (nsqd TCP, HTTP, HTTPS;
// nsqlookupd TCP, HTTP).
const (
	nsqdTCP     = "127.0.0.1:4150"
	nsqdHTTP    = "127.0.0.1:4151"
	nsqdHTTPS   = "127.0.0.1:4152"
	lookupdTCP  = "127.0.0.1:4160"
	lookupdHTTP = "127.0.0.1:4161"
)

var fixedPorts = []string{nsqdTCP, nsqdHTTP, nsqdHTTPS, lookupdTCP, lookupdHTTP}

// options are the command-line settings of one run.
type options struct {
	binDir      string        // holds nsqd and nsqlookupd
	goCmd       string        // the go command
	version     string        // go-nsq version; "" means the one in go.mod
	testTimeout time.Duration // passed to the suite as -test.timeout
	lockWait    time.Duration // how long to wait for the fixed-ports lock
	keep        bool          // keep the work directory
	verbose     bool          // print the suite's whole output
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("gonsq", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.binDir, "bin", "build", "directory holding the nsqd and nsqlookupd under test")
	fs.StringVar(&o.goCmd, "go", "go", "the go command")
	fs.StringVar(&o.version, "version", "", "go-nsq version to test with (default: the one go.mod requires)")
	fs.DurationVar(&o.testTimeout, "timeout", 4*time.Minute, "time limit for the suite's tests")
	fs.DurationVar(&o.lockWait, "lock-wait", 5*time.Minute, "how long to wait for another run to release the fixed ports")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (suite copy, daemon logs, full output)")
	fs.BoolVar(&o.verbose, "v", false, "print the suite's whole output as it runs")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: gonsq [flags]\n\nRuns go-nsq's own test suite against our nsqd and nsqlookupd on 127.0.0.1:4150-4152 and 4160-4161.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "gonsq: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	for _, name := range []string{"nsqd", "nsqlookupd"} {
		if err := checkExecutable(filepath.Join(o.binDir, name)); err != nil {
			fmt.Fprintf(os.Stderr, "gonsq: %v (build them first: make build)\n", err)
			return 2
		}
	}
	abs, err := filepath.Abs(o.binDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gonsq: %v\n", err)
		return 2
	}
	o.binDir = abs

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := newReport(os.Stdout, os.Getenv("NSQ_SKIP_LOG"))
	s := &suite{opts: o, rep: rep}
	s.run(ctx)
	rep.close()
	if ctx.Err() != nil {
		return 130
	}
	if rep.failed > 0 {
		return 1
	}
	return 0
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
