// Package integration holds end-to-end tests that run several of our
// daemons together as real processes on 127.0.0.1: the 3-nsqd / 2-lookupd
// discovery topology with a go-nsq consumer. It has no non-test code.
package integration
