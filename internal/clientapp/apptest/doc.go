// Package apptest holds the helpers of the client apps' integration tests:
// building an app binary and running it as a process, a thread-safe
// output buffer, and publishing, consuming and reading stats over the
// real protocols with go-nsq and HTTP. It never imports a daemon package:
// the tests start nsqd and nsqlookupd themselves and pass addresses in.
package apptest
