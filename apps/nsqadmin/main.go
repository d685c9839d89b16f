package main

import (
	"flag"
	"io"
	"os"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/daemonapp"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/nsqadmin"
)

func flagSet(opts *nsqadmin.Options) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqadmin", flag.ContinueOnError)

	fs.Bool("version", false, "print version string")
	fs.String("config", "", "path to config file")

	level := opts.LogLevel
	fs.Var(&level, "log-level", "set log verbosity: debug, info, warn, error, or fatal")
	fs.String("log-prefix", opts.LogPrefix, "log message prefix")
	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")

	fs.String("http-address", opts.HTTPAddress, "<addr>:<port> to listen on for HTTP clients")
	fs.String("base-path", opts.BasePath, "URL base path")
	fs.String("dev-static-dir", opts.DevStaticDir, "(development use only)")

	fs.String("graphite-url", opts.GraphiteURL, "graphite HTTP address")
	fs.Bool("proxy-graphite", opts.ProxyGraphite, "proxy HTTP requests to graphite")

	fs.String("statsd-counter-format", opts.StatsdCounterFormat, "The counter stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.")
	fs.String("statsd-gauge-format", opts.StatsdGaugeFormat, "The gauge stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.")
	fs.String("statsd-prefix", opts.StatsdPrefix, "prefix used for keys sent to statsd (%s for host replacement, must match nsqd)")
	fs.Duration("statsd-interval", opts.StatsdInterval, "time interval nsqd is configured to push to statsd (must match nsqd)")

	fs.String("notification-http-endpoint", opts.NotificationHTTPEndpoint, "HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent")

	fs.Duration("http-client-connect-timeout", opts.HTTPClientConnectTimeout, "timeout for HTTP connect")
	fs.Duration("http-client-request-timeout", opts.HTTPClientRequestTimeout, "timeout for HTTP request")

	fs.Bool("http-client-tls-insecure-skip-verify", opts.HTTPClientTLSInsecureSkipVerify, "configure the HTTP client to skip verification of TLS certificates")
	fs.String("http-client-tls-root-ca-file", opts.HTTPClientTLSRootCAFile, "path to CA file for the HTTP client")
	fs.String("http-client-tls-cert", opts.HTTPClientTLSCert, "path to certificate file for the HTTP client")
	fs.String("http-client-tls-key", opts.HTTPClientTLSKey, "path to key file for the HTTP client")

	fs.String("allow-config-from-cidr", opts.AllowConfigFromCIDR, "A CIDR from which to allow HTTP requests to the /config endpoint")
	fs.String("acl-http-header", opts.ACLHTTPHeader, "HTTP header to check for authenticated admin users")

	fs.Var(&cfg.StringList{}, "nsqd-http-address", "nsqd HTTP address (may be given multiple times)")
	fs.Var(&cfg.StringList{}, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&cfg.StringList{}, "admin-user", "admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions; acl-http-header is used to determine the authenticated user)")

	fs.Duration("history-interval", opts.HistoryInterval, "how often to sample the cluster's stats for the rate and depth charts")
	fs.Duration("history-duration", opts.HistoryDuration, "how much history of the cluster's stats to keep in memory for the charts")
	return fs
}

func app(opts *nsqadmin.Options) daemonapp.App {
	return daemonapp.App{
		Name:      "nsqadmin",
		FlagSet:   flagSet(opts),
		Options:   opts,
		LogPrefix: func() string { return opts.LogPrefix },
		Start: func(logger lg.Logger) (daemonapp.Daemon, error) {
			opts.Logger = logger
			return nsqadmin.New(opts)
		},
	}
}

// parse maps the command line and the config file onto Options. When
// done is true the process should exit with code instead of running
// (--version, --help, a bad flag or config file).
func parse(args []string, stdout, stderr io.Writer) (opts *nsqadmin.Options, code int, done bool) {
	opts = nsqadmin.NewOptions()
	code, done = app(opts).Parse(args, stdout, stderr)
	return opts, code, done
}

// run starts nsqadmin from args and blocks until a signal arrives or it
// fails; it returns the process exit status.
func run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	return app(nsqadmin.NewOptions()).Run(args, stdout, stderr, signals)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, daemonapp.Signals()))
}
