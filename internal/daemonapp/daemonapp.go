package daemonapp

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
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/version"
)

// Daemon is what a daemon package's owner type offers.
type Daemon interface {
	Main() error
	Exit()
}

// App describes one daemon program.
type App struct {
	// Name is the program name, e.g. "nsqd".
	Name string
	// FlagSet holds the daemon's flags, built over the defaults in
	// Options; it must define "version" and "config".
	FlagSet *flag.FlagSet
	// Options points at the Options struct the flags resolve onto.
	Options any
	// LogPrefix returns the --log-prefix in effect.
	LogPrefix func() string
	// Start sets the daemon's logger and creates it (New).
	Start func(logger lg.Logger) (Daemon, error)
}

// NewLogger returns a logger in NSQ's format writing to w.
func NewLogger(w io.Writer, prefix string) *log.Logger {
	return log.New(w, prefix, log.Ldate|log.Ltime|log.Lmicroseconds)
}

func (a App) fatal(stderr io.Writer, format string, args ...any) int {
	NewLogger(stderr, a.LogPrefix()).Output(2, "FATAL: "+fmt.Sprintf(format, args...))
	return 1
}

// Parse resolves the command line and config file onto Options. When
// done is true the program should exit with code (after --help,
// --version or a start-up error, which has been printed).
func (a App) Parse(args []string, stdout, stderr io.Writer) (code int, done bool) {
	fs := a.FlagSet
	fs.SetOutput(io.Discard) // errors are reported as FATAL lines
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintf(stderr, "Usage of %s:\n", a.Name)
			fs.PrintDefaults()
			return 0, true
		}
		return a.fatal(stderr, "%s", err), true
	}
	if fs.NArg() > 0 {
		return a.fatal(stderr, "unexpected argument %q (flags start with -)", fs.Arg(0)), true
	}
	if fs.Lookup("version").Value.String() == "true" {
		fmt.Fprintln(stdout, version.String(a.Name))
		return 0, true
	}
	if _, err := Configure(fs, a.Options); err != nil {
		return a.fatal(stderr, "%s", err), true
	}
	return 0, false
}

// Configure loads the TOML file named by fs's "config" flag and resolves
// fs's flags, that file and the defaults already in *options onto options
// (flag > file > default). It returns the file's keys, for the options
// the caller maps itself.
func Configure(fs *flag.FlagSet, options any) (map[string]any, error) {
	file, err := cfg.LoadFile(fs.Lookup("config").Value.String())
	if err != nil {
		return nil, err
	}
	if err := cfg.Resolve(options, fs, file); err != nil {
		return nil, err
	}
	return file, nil
}

// Run is the whole program: Parse, then start the daemon and serve until a
// signal arrives (then stop it cleanly) or it fails. It returns the exit
// status.
func (a App) Run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	if code, done := a.Parse(args, stdout, stderr); done {
		return code
	}
	d, err := a.Start(NewLogger(stderr, a.LogPrefix()))
	if err != nil {
		return a.fatal(stderr, "failed to instantiate %s - %s", a.Name, err)
	}
	if err := Serve(d, signals); err != nil {
		return a.fatal(stderr, "%s", err)
	}
	return 0
}

// Serve runs d's Main until a signal arrives or Main returns, stops d with
// Exit either way, and returns Main's error.
func Serve(d Daemon, signals <-chan os.Signal) error {
	errc := make(chan error, 1)
	go func() { errc <- d.Main() }()
	select {
	case <-signals:
		d.Exit()
		return <-errc
	case err := <-errc:
		d.Exit()
		return err
	}
}

// Signals returns a channel that receives SIGINT and SIGTERM.
func Signals() <-chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	return c
}
