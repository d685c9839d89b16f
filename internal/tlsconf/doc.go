// Package tlsconf builds the daemons' TLS configurations from the files
// their flags name: a certificate and key pair and a root CA bundle. Every
// problem with a file is returned as an error naming the flag, never
// dropped, so a daemon refuses to start rather than run without the TLS
// it was asked for. It holds no state and takes no locks.
package tlsconf
