package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqadmin"
)

func mustParse(t *testing.T, args ...string) *nsqadmin.Options {
	t.Helper()
	var out, errOut bytes.Buffer
	opts, code, done := parse(args, &out, &errOut)
	if done {
		t.Fatalf("parse(%v) exited %d: %s", args, code, errOut.String())
	}
	return opts
}

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut, nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !regexp.MustCompile(`^nsqadmin v1\.3\.0 \(built w/go[^)]+\)\n$`).MatchString(out.String()) {
		t.Errorf("--version printed %q", out.String())
	}
}

func TestEveryFlag(t *testing.T) {
	dir := t.TempDir()
	opts := mustParse(t,
		"--http-address=127.0.0.1:4999", "--base-path=/admin",
		"--lookupd-http-address=127.0.0.1:4161", "--lookupd-http-address=127.0.0.2:4161",
		"--graphite-url=http://g:8080", "--proxy-graphite",
		"--statsd-prefix=x.%s", "--statsd-counter-format=c.%s", "--statsd-gauge-format=g.%s", "--statsd-interval=10s",
		"--notification-http-endpoint=http://hook/x", "--acl-http-header=X-User", "--admin-user=alice", "--admin-user=bob",
		"--allow-config-from-cidr=10.0.0.0/8", "--http-client-connect-timeout=3s", "--http-client-request-timeout=7s",
		"--http-client-tls-insecure-skip-verify", "--http-client-tls-root-ca-file="+filepath.Join(dir, "ca.pem"),
		"--http-client-tls-cert="+filepath.Join(dir, "c.pem"), "--http-client-tls-key="+filepath.Join(dir, "k.pem"),
		"--dev-static-dir="+dir, "--log-level=debug", "--log-prefix=[admin] ", "--verbose",
		"--history-interval=5s", "--history-duration=30m",
	)
	want := nsqadmin.NewOptions()
	want.HTTPAddress, want.BasePath = "127.0.0.1:4999", "/admin"
	want.NSQLookupdHTTPAddresses = []string{"127.0.0.1:4161", "127.0.0.2:4161"}
	want.GraphiteURL, want.ProxyGraphite = "http://g:8080", true
	want.StatsdPrefix, want.StatsdCounterFormat, want.StatsdGaugeFormat, want.StatsdInterval = "x.%s", "c.%s", "g.%s", 10*time.Second
	want.NotificationHTTPEndpoint, want.ACLHTTPHeader, want.AdminUsers = "http://hook/x", "X-User", []string{"alice", "bob"}
	want.AllowConfigFromCIDR = "10.0.0.0/8"
	want.HTTPClientConnectTimeout, want.HTTPClientRequestTimeout = 3*time.Second, 7*time.Second
	want.HTTPClientTLSInsecureSkipVerify = true
	want.HTTPClientTLSRootCAFile = filepath.Join(dir, "ca.pem")
	want.HTTPClientTLSCert, want.HTTPClientTLSKey = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	want.DevStaticDir, want.LogLevel, want.LogPrefix = dir, lg.DEBUG, "[admin] "
	want.HistoryInterval, want.HistoryDuration = 5*time.Second, 30*time.Minute
	compareOptions(t, opts, want)

	nsqdMode := mustParse(t, "--nsqd-http-address=127.0.0.1:4151", "--nsqd-http-address=127.0.0.1:5151")
	if !slices.Equal(nsqdMode.NSQDHTTPAddresses, []string{"127.0.0.1:4151", "127.0.0.1:5151"}) {
		t.Errorf("nsqd addresses = %v", nsqdMode.NSQDHTTPAddresses)
	}
}

func compareOptions(t *testing.T, got, want *nsqadmin.Options) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"HTTPAddress", got.HTTPAddress, want.HTTPAddress}, {"BasePath", got.BasePath, want.BasePath},
		{"Lookupds", strings.Join(got.NSQLookupdHTTPAddresses, ","), strings.Join(want.NSQLookupdHTTPAddresses, ",")},
		{"NSQDs", strings.Join(got.NSQDHTTPAddresses, ","), strings.Join(want.NSQDHTTPAddresses, ",")},
		{"GraphiteURL", got.GraphiteURL, want.GraphiteURL}, {"ProxyGraphite", got.ProxyGraphite, want.ProxyGraphite},
		{"StatsdPrefix", got.StatsdPrefix, want.StatsdPrefix}, {"StatsdCounterFormat", got.StatsdCounterFormat, want.StatsdCounterFormat},
		{"StatsdGaugeFormat", got.StatsdGaugeFormat, want.StatsdGaugeFormat}, {"StatsdInterval", got.StatsdInterval, want.StatsdInterval},
		{"Notification", got.NotificationHTTPEndpoint, want.NotificationHTTPEndpoint},
		{"ACLHTTPHeader", got.ACLHTTPHeader, want.ACLHTTPHeader},
		{"AdminUsers", strings.Join(got.AdminUsers, ","), strings.Join(want.AdminUsers, ",")},
		{"AllowConfigFromCIDR", got.AllowConfigFromCIDR, want.AllowConfigFromCIDR},
		{"ConnectTimeout", got.HTTPClientConnectTimeout, want.HTTPClientConnectTimeout},
		{"RequestTimeout", got.HTTPClientRequestTimeout, want.HTTPClientRequestTimeout},
		{"InsecureSkipVerify", got.HTTPClientTLSInsecureSkipVerify, want.HTTPClientTLSInsecureSkipVerify},
		{"RootCA", got.HTTPClientTLSRootCAFile, want.HTTPClientTLSRootCAFile},
		{"Cert", got.HTTPClientTLSCert, want.HTTPClientTLSCert}, {"Key", got.HTTPClientTLSKey, want.HTTPClientTLSKey},
		{"DevStaticDir", got.DevStaticDir, want.DevStaticDir}, {"LogLevel", got.LogLevel, want.LogLevel},
		{"LogPrefix", got.LogPrefix, want.LogPrefix},
		{"HistoryInterval", got.HistoryInterval, want.HistoryInterval}, {"HistoryDuration", got.HistoryDuration, want.HistoryDuration},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqadmin.cfg")
	cfgText := `
http_address = "127.0.0.1:4888"
base_path = "/ui"
nsqlookupd_http_addresses = ["127.0.0.1:4161", "127.0.0.1:5161"]
admin_users = "alice,bob"
acl_http_header = "X-Who"
statsd_interval = 30000
http_client_request_timeout = "9s"
proxy_graphite = "true"
graphite_url = "http://graphite"
log_level = "warn"
notification_http_endpoint = "http://hook"
unknown_key = 1
`
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := mustParse(t, "--config="+path, "--http-address=127.0.0.1:4777")
	want := nsqadmin.NewOptions()
	want.HTTPAddress = "127.0.0.1:4777" // the flag beats the file
	want.BasePath = "/ui"
	want.NSQLookupdHTTPAddresses = []string{"127.0.0.1:4161", "127.0.0.1:5161"}
	want.AdminUsers = []string{"alice", "bob"}
	want.ACLHTTPHeader = "X-Who"
	want.StatsdInterval = 30 * time.Second // integer durations are milliseconds
	want.HTTPClientRequestTimeout = 9 * time.Second
	want.ProxyGraphite, want.GraphiteURL = true, "http://graphite"
	want.LogLevel = lg.WARN
	want.NotificationHTTPEndpoint = "http://hook"
	compareOptions(t, opts, want)
}

func TestStartupFailures(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.cfg")
	os.WriteFile(bad, []byte("this is = = not toml"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no address", nil, 1, "FATAL: failed to instantiate nsqadmin - --nsqd-http-address or --lookupd-http-address required"},
		{"both kinds", []string{"--nsqd-http-address=127.0.0.1:4151", "--lookupd-http-address=127.0.0.1:4161"}, 1,
			"FATAL: failed to instantiate nsqadmin - use --nsqd-http-address or --lookupd-http-address not both"},
		{"address without port", []string{"--nsqd-http-address=localhost"}, 1, "failed to resolve --nsqd-http-address (localhost)"},
		{"cert without key", []string{"--nsqd-http-address=127.0.0.1:4151", "--http-client-tls-cert=/x"}, 1,
			"--http-client-tls-cert and --http-client-tls-key must be given together"},
		{"missing cert files", []string{"--nsqd-http-address=127.0.0.1:4151", "--http-client-tls-cert=/nope/c", "--http-client-tls-key=/nope/k"}, 1,
			"failed to load --http-client-tls-cert/--http-client-tls-key"},
		{"bad cidr", []string{"--nsqd-http-address=127.0.0.1:4151", "--allow-config-from-cidr=nope"}, 1, "failed to parse --allow-config-from-cidr (nope)"},
		{"bad graphite url", []string{"--nsqd-http-address=127.0.0.1:4151", "--graphite-url=ftp://x"}, 1, "failed to parse --graphite-url"},
		{"proxy without graphite", []string{"--nsqd-http-address=127.0.0.1:4151", "--proxy-graphite"}, 1, "--proxy-graphite needs --graphite-url"},
		{"bad notification url", []string{"--nsqd-http-address=127.0.0.1:4151", "--notification-http-endpoint=hook"}, 1, "failed to parse --notification-http-endpoint"},
		{"missing dev static dir", []string{"--nsqd-http-address=127.0.0.1:4151", "--dev-static-dir=/no/such/dir"}, 1, "--dev-static-dir"},
		{"bad log level", []string{"--log-level=loud"}, 1, `invalid value "loud" for flag -log-level`},
		{"bad duration", []string{"--statsd-interval=soon"}, 1, `invalid value "soon" for flag -statsd-interval`},
		{"unknown flag", []string{"--nope"}, 1, "flag provided but not defined: -nope"},
		{"bad config file", []string{"--config=" + bad}, 1, "FATAL: failed to load config file " + bad},
		{"bad config value", []string{"--config=" + writeCfg(t, `statsd_interval = "soon"`)}, 1, "invalid value for --statsd-interval"},
		{"port in use", []string{"--nsqd-http-address=127.0.0.1:4151", "--http-address=" + busyAddr(t)}, 1, "failed to instantiate nsqadmin - listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut, make(chan os.Signal))
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.want)
			}
		})
	}
}

func writeCfg(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "x.cfg")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func busyAddr(t *testing.T) string {
	srv := &http.Server{}
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func TestRunUntilSignal(t *testing.T) {
	var out bytes.Buffer
	errOut := &testutil.Buffer{}
	signals := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--http-address=127.0.0.1:0", "--nsqd-http-address=127.0.0.1:1", "--base-path=/admin"}, &out, errOut, signals)
	}()
	re := regexp.MustCompile(`INFO: HTTP: listening on (127\.0\.0\.1:\d+)`)
	var addr string
	testutil.Eventually(t, 10*time.Second, func() bool {
		m := re.FindStringSubmatch(errOut.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, "nsqadmin listening; log: %s", errOut.String())
	resp, err := http.Get("http://" + addr + "/admin/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "OK" {
		t.Errorf("ping: %d %q", resp.StatusCode, body)
	}
	if !strings.HasPrefix(errOut.String(), "[nsqadmin] ") || !strings.Contains(errOut.String(), "nsqadmin v1.3.0") {
		t.Errorf("log = %q", errOut.String())
	}
	signals <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after SIGTERM; log %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nsqadmin did not stop on SIGTERM")
	}
	if _, err := http.Get("http://" + addr + "/admin/ping"); err == nil {
		t.Error("still serving after SIGTERM")
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
