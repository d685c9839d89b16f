package tlsconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/testutil"
)

func files(cert, key, ca string) Files {
	return Files{Cert: cert, Key: key, RootCA: ca, CertFlag: "--tls-cert", KeyFlag: "--tls-key", RootCAFlag: "--tls-root-ca-file"}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "a")
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	cases := []struct {
		name    string
		f       Files
		wantErr string // "" for success
	}{
		{"nothing", files("", "", ""), ""},
		{"key pair", files(cert, key, ""), ""},
		{"root CA only", files("", "", cert), ""},
		{"all", files(cert, key, cert), ""},
		{"missing cert", files(missing, key, ""), "failed to load --tls-cert/--tls-key: open " + missing},
		{"key without cert", files("", key, ""), "failed to load --tls-cert/--tls-key: "},
		{"cert as key", files(cert, cert, ""), "failed to load --tls-cert/--tls-key: "},
		{"missing root CA", files("", "", missing), "failed to read --tls-root-ca-file: open " + missing},
		{"root CA not PEM", files(cert, key, notPEM), "failed to parse --tls-root-ca-file " + notPEM + ": no PEM certificates"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Client(c.f)
			if c.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
					t.Fatalf("Client err = %v, want prefix %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(cfg.Certificates), btoi(c.f.Cert != ""); got != want {
				t.Errorf("%d certificates, want %d", got, want)
			}
			if (cfg.RootCAs != nil) != (c.f.RootCA != "") {
				t.Errorf("RootCAs = %v with RootCA %q", cfg.RootCAs, c.f.RootCA)
			}
		})
	}
}

func TestServer(t *testing.T) {
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "s")
	cfg, err := Server(files(cert, key, cert))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Certificates) != 1 || cfg.ClientCAs == nil || cfg.RootCAs != nil {
		t.Errorf("Server config: %d certs, ClientCAs %v, RootCAs %v", len(cfg.Certificates), cfg.ClientCAs, cfg.RootCAs)
	}
	if _, err := Server(files("", "", cert)); err == nil || !strings.Contains(err.Error(), "needs --tls-cert and --tls-key") {
		t.Errorf("Server without a key pair: err = %v", err)
	}
	if _, err := Server(files(cert, key, filepath.Join(dir, "nope"))); err == nil {
		t.Error("Server with a missing root CA file did not fail")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
