// Package integration holds end-to-end tests that run our daemons as real
// processes or in-process on 127.0.0.1: the 3-nsqd / 2-lookupd discovery
// topology with a go-nsq consumer, the nsqjs client against nsqd and
// nsqlookupd, and message bodies across the buffer boundaries of every wire
// mode (plain, snappy, deflate at levels 1 and 9, each also over TLS) with
// go-nsq and nsqjs, also against NSQ v1.3's nsqd when its binaries are found
// ($NSQ_REF_DIR, or shared/ref beside the checkout). It has no non-test
// code; the command in gonsq/ runs go-nsq's own test suite against our
// daemons (`make test` does).
package integration
