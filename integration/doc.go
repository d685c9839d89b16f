// Package integration holds end-to-end tests that run several of our
// daemons together as real processes on 127.0.0.1: the 3-nsqd / 2-lookupd
// discovery topology with a go-nsq consumer, and the nsqjs client against
// nsqd and nsqlookupd. It has no non-test code; the command in gonsq/ runs
// go-nsq's own test suite against our daemons (`make test` does).
package integration
