// Package nsqlogtest holds helpers for tests that publish into a real
// nsqd on 127.0.0.1 (started with nsqd/nsqdtest): unique topic names and
// a go-nsq consumer preset for them (internal/testutil/gonsqtest does the
// collecting). A free address for a daemon started later is
// testutil.FreeAddr. Only test code should import it.
//
// It holds no locks of its own.
package nsqlogtest
