package nsqd

import (
	"fmt"
	"strings"
	"testing"
)

// TestSizeLimitsExact: over TCP, a PUB or DPUB body of exactly
// --max-msg-size and an MPUB body of exactly --max-body-size are accepted
// and delivered whole; one byte more is refused.
func TestSizeLimitsExact(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 100
	opts.MaxBodySize = 1000
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "limits", "c", 100)
	atMsg := strings.Repeat("m", int(opts.MaxMsgSize))
	// an MPUB body is a count and a size before each message: nine
	// messages at the limit (4+9*104 = 940 bytes) and one of 56 fill 1000
	mpub := func(last int) ([]string, []byte) {
		var msgs []string
		for i := 0; i < 9; i++ {
			msgs = append(msgs, fmt.Sprintf("%d%s", i, atMsg[1:]))
		}
		msgs = append(msgs, strings.Repeat("l", last))
		return msgs, mpubBody(msgs...)
	}
	atBody, body := mpub(56)
	if len(body) != int(opts.MaxBodySize) {
		t.Fatalf("MPUB body is %d bytes, want %d", len(body), opts.MaxBodySize)
	}
	_, overBody := mpub(57)

	c := dial(t, n)
	c.cmd("PUB limits", []byte(atMsg))
	c.expectOK()
	c.cmd("DPUB limits 0", []byte(atMsg))
	c.expectOK()
	c.cmd("MPUB limits", body)
	c.expectOK()
	want := append([]string{atMsg, atMsg}, atBody...)
	for i, w := range want {
		m := sub.readMsg()
		if m.body != w {
			t.Fatalf("message %d: %d bytes %.10q..., want %d bytes %.10q...", i, len(m.body), m.body, len(w), w)
		}
		sub.cmd("FIN " + m.id)
	}

	for _, tc := range []struct {
		cmd  string
		body []byte
		want string
	}{
		{"PUB limits", []byte(atMsg + "x"), "E_BAD_MESSAGE PUB message too big 101 > 100"},
		{"DPUB limits 0", []byte(atMsg + "x"), "E_BAD_MESSAGE DPUB message too big 101 > 100"},
		{"MPUB limits", overBody, "E_BAD_BODY MPUB body too big 1001 > 1000"},
	} {
		c := dial(t, n)
		c.cmd(tc.cmd, tc.body)
		c.expectError(tc.want)
		c.expectClosed()
	}
	if cs := channelStatsOf(t, n, "limits", "c"); cs.MessageCount != uint64(len(want)) || cs.Depth != 0 {
		t.Fatalf("refused publishes reached the channel: %+v", cs)
	}
}
