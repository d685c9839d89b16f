package nsqd

import (
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/protocol"
)

// TestNumericOverflow: numeric parameters too large for their unit are
// refused, not wrapped into another value.
func TestNumericOverflow(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for _, d := range []string{"9223372036854775807", "9223372036854776", "18446744073709551616", "-1", "1e3"} {
		code, body, _ := httpDo(t, n, "POST", "/pub?topic=ovf&defer="+d, "m")
		if code != 400 || !strings.Contains(body, "INVALID_DEFER") {
			t.Errorf("/pub?defer=%s: %d %s", d, code, body)
		}
	}
	// 2^64/1e6 + 5001 ms is ~5 s after wrapping at nanosecond precision
	const wraps = 18446744078710
	for _, field := range []string{"heartbeat_interval", "msg_timeout", "output_buffer_timeout"} {
		c := dial(t, n)
		f := c.identify(map[string]any{field: wraps})
		if f.typ != protocol.FrameTypeError || !strings.Contains(string(f.data), "E_BAD_BODY") {
			t.Errorf("IDENTIFY %s=%d: %s", field, wraps, f)
		}
	}
	c := dial(t, n)
	c.cmd("DPUB ovf 18446744073709551615", []byte("m"))
	c.expectError("E_INVALID DPUB timeout 18446744073709551615 out of range 0-3600000")
	c = dial(t, n)
	c.cmd("DPUB ovf 18446744073709551616", []byte("m"))
	if f := c.readFrame(); f.typ != protocol.FrameTypeError || !strings.HasPrefix(string(f.data), "E_INVALID DPUB could not parse timeout") {
		t.Errorf("DPUB 2^64: %s", f)
	}
}
