// Package testutil holds helpers shared by the tests of every package:
// a logger that writes to the test log, polling with a deadline, building
// and running a program as a child process, reading an HTTP reply byte for
// byte (ReadRawHTTPReply), skipping a test so that
// `make test` reports it (Skip, Missing), and a self-signed certificate
// for TLS tests (WriteCert).
//
// Locks: Logger.mu and Buffer.mu are leaf locks, each guarding its own value.
package testutil
