package nsqd

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"
)

// TestErrorTexts pins the exact text of every E_* reply (and whether it
// closes the connection) as NSQ v1.3.0 sends it for the same bytes; the
// list is the one integration/refdiff compares with the reference nsqd.
// --max-msg-size=100, --max-body-size=400, --max-req-timeout=10s.
func TestErrorTexts(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 100
	opts.MaxBodySize = 400
	opts.MaxReqTimeout = 10 * time.Second
	n := startNSQD(t, opts)
	big := strings.Repeat("x", 101)
	line := func(s string) []byte { return []byte(s + "\n") }
	body := func(cmd string, b []byte) []byte { return append(line(cmd), sized(b)...) }
	size := func(cmd string, v int32) []byte { return binary.BigEndian.AppendUint32(line(cmd), uint32(v)) }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	id := func(js string) []byte { return body("IDENTIFY", []byte(js)) }
	for _, tc := range []struct {
		name  string
		send  []byte
		oks   int // OK replies before the error
		want  string
		fatal bool
	}{
		{"empty line", line(""), 0, "E_INVALID invalid command ", true},
		{"lower case", line("nop"), 0, "E_INVALID invalid command nop", true},
		{"unknown", line("FOO bar"), 0, "E_INVALID invalid command FOO", true},
		{"IDENTIFY bad json", id(`{`), 0, "E_BAD_BODY IDENTIFY failed to decode JSON body", true},
		{"IDENTIFY wrong type", id(`{"client_id":1}`), 0, "E_BAD_BODY IDENTIFY failed to decode JSON body", true},
		{"IDENTIFY size 0", size("IDENTIFY", 0), 0, "E_BAD_BODY IDENTIFY invalid body size 0", true},
		{"IDENTIFY size -1", size("IDENTIFY", -1), 0, "E_BAD_BODY IDENTIFY invalid body size -1", true},
		{"IDENTIFY too big", size("IDENTIFY", 1<<20), 0, "E_BAD_BODY IDENTIFY body too big 1048576 > 400", true},
		{"IDENTIFY short size", []byte("IDENTIFY\n\x00\x00"), 0, "E_BAD_BODY IDENTIFY failed to read body size", true},
		{"IDENTIFY heartbeat", id(`{"heartbeat_interval":999}`), 0, "E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid", true},
		{"IDENTIFY heartbeat -2", id(`{"heartbeat_interval":-2}`), 0, "E_BAD_BODY IDENTIFY heartbeat interval (-2) is invalid", true},
		{"IDENTIFY output buffer", id(`{"output_buffer_size":10}`), 0, "E_BAD_BODY IDENTIFY output buffer size (10) is invalid", true},
		{"IDENTIFY output timeout", id(`{"output_buffer_timeout":30001}`), 0, "E_BAD_BODY IDENTIFY output buffer timeout (30001) is invalid", true},
		{"IDENTIFY sample rate", id(`{"sample_rate":100}`), 0, "E_BAD_BODY IDENTIFY sample rate (100) is invalid", true},
		{"IDENTIFY sample rate -1", id(`{"sample_rate":-1}`), 0, "E_BAD_BODY IDENTIFY sample rate (-1) is invalid", true},
		{"IDENTIFY msg timeout", id(`{"msg_timeout":999}`), 0, "E_BAD_BODY IDENTIFY msg timeout (999) is invalid", true},
		{"IDENTIFY both compressions", id(`{"deflate":true,"snappy":true,"feature_negotiation":true}`), 0,
			"E_IDENTIFY_FAILED cannot enable both deflate and snappy compression", true},
		{"IDENTIFY after SUB", cat(line("SUB t1 c1"), id(`{}`)), 1, "E_INVALID cannot IDENTIFY in current state", true},
		{"SUB no params", line("SUB"), 0, "E_INVALID SUB insufficient number of parameters", true},
		{"SUB bad topic", line("SUB a$ c"), 0, `E_BAD_TOPIC SUB topic name "a$" is not valid`, true},
		{"SUB bad channel", line("SUB t1 c$"), 0, `E_BAD_CHANNEL SUB channel name "c$" is not valid`, true},
		{"SUB twice", cat(line("SUB t1 c1"), line("SUB t1 c1")), 1, "E_INVALID cannot SUB in current state", true},
		{"SUB without heartbeats", cat(id(`{"heartbeat_interval":-1}`), line("SUB t1 c1")), 1, "E_INVALID cannot SUB with heartbeats disabled", true},
		{"RDY before SUB", line("RDY 1"), 0, "E_INVALID cannot RDY in current state", true},
		{"RDY bad", cat(line("SUB t1 c1"), line("RDY x")), 1, "E_INVALID RDY could not parse count x", true},
		{"RDY -1", cat(line("SUB t1 c1"), line("RDY -1")), 1, "E_INVALID RDY could not parse count -1", true},
		{"RDY +1", cat(line("SUB t1 c1"), line("RDY +1")), 1, "E_INVALID RDY could not parse count +1", true},
		{"RDY too big", cat(line("SUB t1 c1"), line("RDY 2501")), 1, "E_INVALID RDY count 2501 out of range 0-2500", true},
		{"FIN before SUB", line("FIN 0123456789abcdef"), 0, "E_INVALID cannot FIN in current state", true},
		{"FIN no id", cat(line("SUB t1 c1"), line("FIN")), 1, "E_INVALID FIN insufficient number of params", true},
		{"FIN 3-byte id", cat(line("SUB t1 c1"), line("FIN 123")), 1, "E_INVALID invalid message ID", true},
		{"FIN not in flight", cat(line("SUB t1 c1"), line("FIN 0123456789abcdef")), 1, "E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight", false},
		{"REQ before SUB", line("REQ 0123456789abcdef 0"), 0, "E_INVALID cannot REQ in current state", true},
		{"REQ one param", cat(line("SUB t1 c1"), line("REQ 0123456789abcdef")), 1, "E_INVALID REQ insufficient number of params", true},
		{"REQ bad timeout", cat(line("SUB t1 c1"), line("REQ 0123456789abcdef x")), 1, "E_INVALID REQ could not parse timeout x", true},
		{"REQ not in flight", cat(line("SUB t1 c1"), line("REQ 0123456789abcdef 0")), 1, "E_REQ_FAILED REQ 0123456789abcdef failed ID not in flight", false},
		{"TOUCH before SUB", line("TOUCH 0123456789abcdef"), 0, "E_INVALID cannot TOUCH in current state", true},
		{"TOUCH no id", cat(line("SUB t1 c1"), line("TOUCH")), 1, "E_INVALID TOUCH insufficient number of params", true},
		{"TOUCH not in flight", cat(line("SUB t1 c1"), line("TOUCH 0123456789abcdef")), 1, "E_TOUCH_FAILED TOUCH 0123456789abcdef failed ID not in flight", false},
		{"CLS before SUB", line("CLS"), 0, "E_INVALID cannot CLS in current state", true},
		{"PUB no topic", line("PUB"), 0, "E_INVALID PUB insufficient number of parameters", true},
		{"PUB bad topic", body("PUB a$", []byte("m")), 0, `E_BAD_TOPIC PUB topic name "a$" is not valid`, true},
		{"PUB empty", body("PUB t2", nil), 0, "E_BAD_MESSAGE PUB invalid message body size 0", true},
		{"PUB too big", body("PUB t2", []byte(big)), 0, "E_BAD_MESSAGE PUB message too big 101 > 100", true},
		{"PUB size -5", size("PUB t2", -5), 0, "E_BAD_MESSAGE PUB invalid message body size -5", true},
		{"PUB short size", []byte("PUB t2\n\x00"), 0, "E_BAD_MESSAGE PUB failed to read message body size", true},
		{"PUB short body", append(size("PUB t2", 5), 'a'), 0, "E_BAD_MESSAGE PUB failed to read message body", true},
		{"MPUB no topic", line("MPUB"), 0, "E_INVALID MPUB insufficient number of parameters", true},
		{"MPUB bad topic", body("MPUB a$", mpubBody("m")), 0, `E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a$" is not valid`, true},
		{"MPUB zero count", body("MPUB t2", mpubBody()), 0, "E_BAD_BODY MPUB invalid message count 0", true},
		{"MPUB empty body", body("MPUB t2", nil), 0, "E_BAD_BODY MPUB invalid body size 0", true},
		{"MPUB body too big", size("MPUB t2", 401), 0, "E_BAD_BODY MPUB body too big 401 > 400", true},
		{"MPUB body -1", size("MPUB t2", -1), 0, "E_BAD_BODY MPUB invalid body size -1", true},
		{"MPUB empty message", body("MPUB t2", mpubBody("a", "")), 0, "E_BAD_MESSAGE MPUB invalid message(1) body size 0", true},
		{"MPUB message too big", body("MPUB t2", mpubBody(big)), 0, "E_BAD_MESSAGE MPUB message too big 101 > 100", true},
		{"MPUB count too big", body("MPUB t2", binary.BigEndian.AppendUint32(nil, 1000)), 0, "E_BAD_BODY MPUB invalid message count 1000", true},
		{"MPUB short body", body("MPUB t2", mpubBody("abc")[:9]), 0, "E_BAD_MESSAGE MPUB failed to read message body", true},
		{"DPUB no timeout", line("DPUB t2"), 0, "E_INVALID DPUB insufficient number of parameters", true},
		{"DPUB bad topic", body("DPUB a$ 10", []byte("m")), 0, `E_BAD_TOPIC DPUB topic name "a$" is not valid`, true},
		{"DPUB bad timeout", body("DPUB t2 x", []byte("m")), 0, "E_INVALID DPUB could not parse timeout x", true},
		{"DPUB timeout too big", body("DPUB t2 10001", []byte("m")), 0, "E_INVALID DPUB timeout 10001 out of range 0-10000", true},
		{"DPUB timeout -1", body("DPUB t2 -1", []byte("m")), 0, "E_INVALID DPUB could not parse timeout -1", true},
		{"DPUB empty", body("DPUB t2 10", nil), 0, "E_BAD_MESSAGE DPUB invalid message body size 0", true},
		{"DPUB too big", body("DPUB t2 10", []byte(big)), 0, "E_BAD_MESSAGE DPUB message too big 101 > 100", true},
		{"AUTH disabled", body("AUTH", []byte("secret")), 0, "E_AUTH_DISABLED AUTH disabled", true},
		{"AUTH with params", body("AUTH x", []byte("secret")), 0, "E_INVALID AUTH invalid number of parameters", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, n)
			c.send(tc.send)
			if strings.Contains(tc.name, "short") { // the rest never comes
				c.conn.(*net.TCPConn).CloseWrite()
			}
			for range tc.oks {
				c.expectOK()
			}
			c.expectError(tc.want)
			if tc.fatal {
				c.expectClosed()
				return
			}
			c.cmd("NOP")
			c.cmd("PUB t2", []byte("still open"))
			c.expectOK()
		})
	}
}
