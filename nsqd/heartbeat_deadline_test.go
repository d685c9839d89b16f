package nsqd

import (
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"
)

// TestHeartbeatLoweredWhilePipelined: IDENTIFY lowering the heartbeat to
// 1 s, pipelined with further commands and then a half-sent frame: the
// read deadline follows the new heartbeat and the daemon drops the
// connection after two intervals, not the old 60 s.
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
	sent := time.Now()
	c.send(b)
	c.expectOK()
	c.expectHeartbeatClose(sent, time.Second, 0, "E_BAD_MESSAGE PUB failed to read message body")
}
