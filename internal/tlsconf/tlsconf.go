package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Files names a daemon's TLS files and the flags they came from.
type Files struct {
	Cert, Key, RootCA             string // paths; "" when not given
	CertFlag, KeyFlag, RootCAFlag string // e.g. "--tls-cert", for error texts
}

// Client returns a client configuration that presents the key pair when
// Cert or Key is given and trusts only RootCA's certificates when it is
// given (else the system roots).
func Client(f Files) (*tls.Config, error) {
	certs, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs, RootCAs: pool}, nil
}

// Server returns a server configuration with the key pair, which must be
// given, and RootCA (when given) as the pool client certificates are
// verified against. The caller sets ClientAuth and MinVersion.
func Server(f Files) (*tls.Config, error) {
	if f.Cert == "" && f.Key == "" {
		return nil, fmt.Errorf("a TLS server needs %s and %s", f.CertFlag, f.KeyFlag)
	}
	certs, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: certs, ClientCAs: pool}, nil
}

func (f Files) load() ([]tls.Certificate, *x509.CertPool, error) {
	var certs []tls.Certificate
	if f.Cert != "" || f.Key != "" {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to load %s/%s: %w", f.CertFlag, f.KeyFlag, err)
		}
		certs = []tls.Certificate{cert}
	}
	if f.RootCA == "" {
		return certs, nil, nil
	}
	pem, err := os.ReadFile(f.RootCA)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read %s: %w", f.RootCAFlag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("failed to parse %s %s: no PEM certificates", f.RootCAFlag, f.RootCA)
	}
	return certs, pool, nil
}
