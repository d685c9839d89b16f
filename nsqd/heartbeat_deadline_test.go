package nsqd

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"testing"
	"time"
)

// TestHeartbeatLoweredWhilePipelined: IDENTIFY lowering the heartbeat to
// 1 s, pipelined with further commands and then a half-sent frame: the
// read deadline follows the new heartbeat and the daemon drops the
// connection after about two intervals, not the old 60 s.
func TestHeartbeatLoweredWhilePipelined(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	body, _ := json.Marshal(map[string]any{"heartbeat_interval": 1000})
	var b []byte
	b = append(b, "IDENTIFY\n"...)
	b = append(b, sized(body)...)
	b = append(b, "NOP\nNOP\nNOP\n"...)
	b = append(b, "PUB hb\n"...)
	b = binary.BigEndian.AppendUint32(b, 10)
	b = append(b, "half"...)
	c.send(b)
	c.expectOK()
	start := time.Now()
	for {
		_, err := c.readFrameHB(true) // heartbeats, until the close
		if err == nil && time.Since(start) < 15*time.Second {
			continue
		}
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("half-sent frame still held after 15 s with a 1 s heartbeat")
		}
		return // closed by the daemon
	}
}
