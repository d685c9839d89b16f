package nsqadmin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// Options configures an NSQAdmin. NewOptions returns NSQ v1.3.0's
// defaults; the nsqadmin app overlays the command line and the config file
// (see internal/cfg). Fields with a flag tag are options an operator can
// set, and GET /config/:opt reads them by their config-file name.
type Options struct {
	LogLevel  lg.Level `flag:"log-level"`
	LogPrefix string   `flag:"log-prefix"`
	Logger    lg.Logger

	HTTPAddress string `flag:"http-address"`
	BasePath    string `flag:"base-path"`

	GraphiteURL   string `flag:"graphite-url"`
	ProxyGraphite bool   `flag:"proxy-graphite"`

	StatsdPrefix        string        `flag:"statsd-prefix"`
	StatsdCounterFormat string        `flag:"statsd-counter-format"`
	StatsdGaugeFormat   string        `flag:"statsd-gauge-format"`
	StatsdInterval      time.Duration `flag:"statsd-interval"`

	NSQLookupdHTTPAddresses []string `flag:"lookupd-http-address" cfg:"nsqlookupd_http_addresses"`
	NSQDHTTPAddresses       []string `flag:"nsqd-http-address" cfg:"nsqd_http_addresses"`

	HTTPClientConnectTimeout        time.Duration `flag:"http-client-connect-timeout"`
	HTTPClientRequestTimeout        time.Duration `flag:"http-client-request-timeout"`
	HTTPClientTLSInsecureSkipVerify bool          `flag:"http-client-tls-insecure-skip-verify"`
	HTTPClientTLSRootCAFile         string        `flag:"http-client-tls-root-ca-file"`
	HTTPClientTLSCert               string        `flag:"http-client-tls-cert"`
	HTTPClientTLSKey                string        `flag:"http-client-tls-key"`

	AllowConfigFromCIDR string `flag:"allow-config-from-cidr"`

	NotificationHTTPEndpoint string `flag:"notification-http-endpoint"`

	ACLHTTPHeader string   `flag:"acl-http-header"`
	AdminUsers    []string `flag:"admin-user" cfg:"admin_users"`

	DevStaticDir string `flag:"dev-static-dir"`

	// HistoryInterval is how often the cluster's stats are sampled into
	// the in-memory history behind the rate and depth charts (an
	// extension of ours; NSQ has no such option).
	HistoryInterval time.Duration `flag:"history-interval"`
	// HistoryDuration is how far back the history reaches; the ring
	// holds HistoryDuration/HistoryInterval samples.
	HistoryDuration time.Duration `flag:"history-duration"`
}

// NewOptions returns NSQ v1.3.0's defaults plus ours for the history.
func NewOptions() *Options {
	return &Options{
		LogLevel:  lg.INFO,
		LogPrefix: "[nsqadmin] ",

		HTTPAddress: "0.0.0.0:4171",
		BasePath:    "/",

		StatsdPrefix:        "nsq.%s",
		StatsdCounterFormat: "stats.counters.%s.count",
		StatsdGaugeFormat:   "stats.gauges.%s",
		StatsdInterval:      60 * time.Second,

		NSQLookupdHTTPAddresses: []string{},
		NSQDHTTPAddresses:       []string{},

		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,

		AllowConfigFromCIDR: "127.0.0.1/8",
		ACLHTTPHeader:       "X-Forwarded-User",
		AdminUsers:          []string{},

		HistoryInterval: 10 * time.Second,
		HistoryDuration: time.Hour,
	}
}

// maxHistorySamples bounds the ring so a tiny --history-interval cannot
// make the history eat the machine's memory.
const maxHistorySamples = 10000

// normalizeBasePath turns "admin", "/admin/" or "//admin" into "/admin"
// and "" into "/".
func normalizeBasePath(p string) string {
	return path.Clean("/" + p)
}

// clone returns a copy of o whose slices may be changed independently.
func (o *Options) clone() *Options {
	c := *o
	c.NSQLookupdHTTPAddresses = append([]string{}, o.NSQLookupdHTTPAddresses...)
	c.NSQDHTTPAddresses = append([]string{}, o.NSQDHTTPAddresses...)
	c.AdminUsers = append([]string{}, o.AdminUsers...)
	return &c
}

// validate checks option values with messages that name the flag. It
// normalizes BasePath in place.
func (o *Options) validate() error {
	o.BasePath = normalizeBasePath(o.BasePath)
	switch {
	case len(o.NSQDHTTPAddresses) == 0 && len(o.NSQLookupdHTTPAddresses) == 0:
		return errors.New("--nsqd-http-address or --lookupd-http-address required")
	case len(o.NSQDHTTPAddresses) != 0 && len(o.NSQLookupdHTTPAddresses) != 0:
		return errors.New("use --nsqd-http-address or --lookupd-http-address not both")
	case (o.HTTPClientTLSCert == "") != (o.HTTPClientTLSKey == ""):
		return errors.New("--http-client-tls-cert and --http-client-tls-key must be given together")
	case o.HTTPClientConnectTimeout <= 0 || o.HTTPClientRequestTimeout <= 0:
		return errors.New("--http-client-connect-timeout and --http-client-request-timeout must be > 0")
	case o.StatsdInterval < time.Second:
		return errors.New("--statsd-interval must be >= 1s (graphite rates are divided by it)")
	case o.ProxyGraphite && o.GraphiteURL == "":
		return errors.New("--proxy-graphite needs --graphite-url")
	case o.HistoryInterval < 10*time.Millisecond:
		return errors.New("--history-interval must be >= 10ms")
	case o.HistoryDuration < o.HistoryInterval:
		return errors.New("--history-duration must be >= --history-interval")
	case o.HistoryDuration/o.HistoryInterval > maxHistorySamples:
		return fmt.Errorf("--history-duration / --history-interval must be <= %d samples", maxHistorySamples)
	case o.ACLHTTPHeader == "" && len(o.AdminUsers) > 0:
		return errors.New("--acl-http-header must not be empty when --admin-user is given")
	}
	for _, a := range o.NSQDHTTPAddresses {
		if err := checkHostPort(a); err != nil {
			return fmt.Errorf("failed to resolve --nsqd-http-address (%s) - %w", a, err)
		}
	}
	for _, a := range o.NSQLookupdHTTPAddresses {
		if err := checkHostPort(a); err != nil {
			return fmt.Errorf("failed to resolve --lookupd-http-address (%s) - %w", a, err)
		}
	}
	if o.GraphiteURL != "" {
		if err := checkURL(o.GraphiteURL); err != nil {
			return fmt.Errorf("failed to parse --graphite-url (%s) - %w", o.GraphiteURL, err)
		}
	}
	if o.NotificationHTTPEndpoint != "" {
		if err := checkURL(o.NotificationHTTPEndpoint); err != nil {
			return fmt.Errorf("failed to parse --notification-http-endpoint (%s) - %w", o.NotificationHTTPEndpoint, err)
		}
	}
	if o.AllowConfigFromCIDR != "" {
		if _, _, err := net.ParseCIDR(o.AllowConfigFromCIDR); err != nil {
			return fmt.Errorf("failed to parse --allow-config-from-cidr (%s) - %w", o.AllowConfigFromCIDR, err)
		}
	}
	for _, f := range []struct{ flag, format string }{
		{"--statsd-counter-format", o.StatsdCounterFormat},
		{"--statsd-gauge-format", o.StatsdGaugeFormat},
		{"--statsd-prefix", o.StatsdPrefix},
	} {
		if strings.Count(f.format, "%") > strings.Count(f.format, "%s") {
			return fmt.Errorf("%s (%s) may only contain %%s as a placeholder", f.flag, f.format)
		}
	}
	return nil
}

// checkHostPort accepts what net.ResolveTCPAddr accepts without a DNS
// lookup failing: host:port with a numeric port.
func checkHostPort(addr string) error {
	_, err := net.ResolveTCPAddr("tcp", addr)
	return err
}

// checkURL requires an absolute http(s) URL.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https")
	}
	if u.Host == "" {
		return fmt.Errorf("missing host")
	}
	return nil
}
