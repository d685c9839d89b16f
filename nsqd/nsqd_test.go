package nsqd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
)

// New fills in defaults and implied settings on its own copy.
func TestNewLeavesOptionsAlone(t *testing.T) {
	opts := testOptions(t)
	opts.Logger = nil // New would default it
	opts.LogLevel = lg.FATAL
	opts.TLSCert, opts.TLSKey = testutil.WriteCert(t, t.TempDir(), "nsqd")
	opts.TLSRootCAFile = opts.TLSCert
	opts.TLSClientAuthPolicy = "require" // implies --tls-required
	opts.NSQLookupdTCPAddresses = []string{"127.0.0.1:1"}
	before := opts.clone()
	n := startNSQD(t, opts)
	if n.tlsRequired != TLSRequiredAll {
		t.Fatalf("tlsRequired = %v, want the policy to imply it", n.tlsRequired)
	}
	if !reflect.DeepEqual(opts, before) {
		t.Errorf("New changed the caller's Options:\n got %+v\nwant %+v", opts, before)
	}
	n.opts.NSQLookupdTCPAddresses[0] = "changed"
	if opts.NSQLookupdTCPAddresses[0] != "127.0.0.1:1" {
		t.Error("the daemon's Options share a slice with the caller's")
	}
}

// The outbound (auth, lookupd HTTP) TLS files are checked like the
// inbound ones: a bad one stops New instead of being dropped.
func TestNewBadOutboundTLS(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, rootCA, want string
	}{
		{"missing root CA", filepath.Join(dir, "missing.pem"), "failed to build outbound TLS config: failed to read --tls-root-ca-file: open "},
		{"root CA not PEM", notPEM, "failed to build outbound TLS config: failed to parse --tls-root-ca-file " + notPEM + ": no PEM certificates"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.TLSRootCAFile = c.rootCA // no cert: only outbound TLS uses it
			n, err := New(opts)
			if err == nil {
				n.Exit()
				t.Fatal("New accepted a bad --tls-root-ca-file")
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("err = %q, want prefix %q", err, c.want)
			}
		})
	}
}
