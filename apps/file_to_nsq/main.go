package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/harvester"
	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/daemonapp"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/version"
)

const app = "file_to_nsq"

// producerOpts is --producer-opt: each value is checked when given, so a
// bad one is reported like any bad flag value.
type producerOpts struct{ cfg.StringList }

func (p *producerOpts) Set(v string) error {
	if err := harvester.ApplyProducerOpt(nsq.NewConfig(), v); err != nil {
		return err
	}
	return p.StringList.Set(v)
}

// listFlags are the repeatable flags; each occurrence is one item, never
// split at commas (globs and regexps may contain them).
type listFlags struct {
	paths, nsqd, excludes cfg.StringList
	producer              producerOpts
}

func flagSet(o *harvester.Options, lists *listFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(app, flag.ExitOnError)
	fs.Bool("version", false, "print version string")
	fs.String("config", "", "path to a TOML config file (keys are flag names with '-' as '_'; flags win)")
	level := o.LogLevel
	fs.Var(&level, "log-level", "set log verbosity: debug, info, warn, error, or fatal")
	fs.String("log-prefix", o.LogPrefix, "log message prefix")

	// inputs
	fs.Var(&lists.paths, "path", "glob of files to tail, Go filepath.Match syntax (may be given multiple times; required)")
	fs.Var(&lists.excludes, "exclude-files", "regexp of matched paths to ignore, e.g. '\\.gz$' (may be given multiple times)")
	fs.Duration("scan-frequency", o.ScanFrequency, "how often the globs are scanned for new, renamed, truncated and removed files")
	fs.Int("harvester-limit", o.HarvesterLimit, "most files held open at once (0 = no limit); the others wait for a later scan")
	fs.Bool("tail-files", o.TailFiles, "files found at the first scan without registry state start at their end instead of their beginning (later files always start at 0)")

	// reading
	fs.Int("harvester-buffer-size", o.BufferSize, "read buffer per file, in bytes")
	fs.Int("max-line-bytes", o.MaxLineBytes, "longest message in bytes (a line, or a joined multiline event); keep it within nsqd's --max-msg-size")
	action := o.MaxLineAction
	fs.Var(&action, "max-line-action", "what to do with a longer line: split (several messages, the default), truncate or drop; every case is counted")
	fs.Duration("backoff", o.Backoff, "wait after reaching end of file before reading again; doubles up to --max-backoff")
	fs.Duration("max-backoff", o.MaxBackoff, "longest wait between reads at end of file (<= --scan-frequency)")
	fs.Duration("close-inactive", o.CloseInactive, "close a file when no new line was read for this long")
	fs.Bool("close-removed", o.CloseRemoved, "close a file once it was deleted and read to its end")
	fs.Bool("close-renamed", o.CloseRenamed, "close a file at end of file once it was renamed (risks losing lines written after)")
	fs.Bool("close-eof", o.CloseEOF, "close a file as soon as its end is reached (one-shot files)")
	fs.Bool("clean-removed", o.CleanRemoved, "forget the registry state of a closed file that is no longer found under its last path")

	// multiline
	fs.String("multiline-pattern", o.MultilinePattern, "regexp marking lines to join into one event (Go RE2 syntax); empty = no joining")
	fs.Bool("multiline-negate", o.MultilineNegate, "lines that do NOT match --multiline-pattern are the ones joined")
	fs.String("multiline-match", o.MultilineMatch, "after: joined lines are appended to the line before them; before: prepended to the next one")
	fs.Int("multiline-max-lines", o.MultilineMaxLines, "most lines in one joined event; further lines are left out (counted)")
	fs.Duration("multiline-timeout", o.MultilineTimeout, "send a joined event after this long without a new line")

	// output
	fs.String("topic", o.Topic, "NSQ topic to publish to (required)")
	fs.Var(&lists.nsqd, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times: failover in order; required)")
	fs.Var(&lists.producer, "producer-opt", "go-nsq producer option as name,value (may be given multiple times)")
	fs.Int("batch-size", o.BatchSize, "most messages per MPUB")
	fs.Int("batch-bytes", o.BatchBytes, "most bytes per MPUB body; keep it within nsqd's --max-body-size")
	fs.Duration("batch-timeout", o.BatchTimeout, "longest a message waits for its batch to fill")
	fs.Int("queue-max-events", o.QueueMaxEvents, "most events read but not yet acknowledged; readers wait beyond it (backpressure)")
	fs.Int("queue-max-bytes", o.QueueMaxBytes, "most message bytes read but not yet acknowledged")
	fs.Duration("output-backoff", o.OutputBackoff, "first wait after every nsqd failed; doubles up to --output-max-backoff")
	fs.Duration("output-max-backoff", o.OutputMaxBackoff, "longest wait between publish retries")

	// registry and lifecycle
	fs.String("registry-file", o.RegistryFile, "file of acknowledged offsets per file, keyed by device and inode (required)")
	fs.Duration("registry-flush", o.RegistryFlush, "write the registry at most this often (0 = after every acknowledged batch)")
	fs.Duration("shutdown-timeout", o.ShutdownTimeout, "on SIGINT/SIGTERM, how long to keep publishing what was read (0 = stop at once; the rest is sent again after a restart)")
	fs.Duration("stats-interval", o.StatsInterval, "how often the counters are logged")
	return fs
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	opts := harvester.NewOptions()
	var lists listFlags
	fs := flagSet(opts, &lists)
	fs.Parse(args)

	if fs.Lookup("version").Value.String() == "true" {
		fmt.Println(version.Line(app))
		return 0
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "%s: %s\n", app, fmt.Sprintf(format, a...))
		fs.Usage()
		return 1
	}
	if fs.NArg() > 0 {
		return usageError("unknown arguments: %v", fs.Args())
	}
	file, err := daemonapp.Configure(fs, opts)
	if err != nil {
		return usageError("%s", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	given := func(name string) bool { return set[name] || file[fileKey(name)] != nil }
	lists2 := []struct {
		name string
		flag []string
		dst  *[]string
	}{
		{"path", lists.paths, &opts.Paths},
		{"nsqd-tcp-address", lists.nsqd, &opts.NSQDTCPAddresses},
		{"exclude-files", lists.excludes, &opts.ExcludeFiles},
		{"producer-opt", lists.producer.StringList, &opts.ProducerOpts},
	}
	for _, l := range lists2 {
		if set[l.name] {
			*l.dst = l.flag
			continue
		}
		v, err := fileList(file, fileKey(l.name))
		if err != nil {
			return usageError("%s", err)
		}
		*l.dst = v
	}
	if err := opts.ValidateGiven(given); err != nil {
		return usageError("%s", err)
	}
	if err := opts.Validate(); err != nil {
		return usageError("%s", err)
	}
	opts.Logger = lg.NewStderr(opts.LogPrefix)
	h, err := harvester.New(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", app, err)
		return 1
	}
	if err := daemonapp.Serve(h, daemonapp.Signals()); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", app, err)
		return 1
	}
	return 0
}

// fileKey is the config-file key of a flag.
func fileKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// fileList reads a list option from the config file: an array of strings
// or a single string (taken whole).
func fileList(file map[string]any, key string) ([]string, error) {
	switch v := file[key].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("config key %s: %v is not a string", key, item)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("config key %s: want a string or a list of strings, got %T", key, v)
	}
}
