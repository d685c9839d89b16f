package nsqd

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/protocol"
)

func TestBadMagic(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	conn, err := net.Dial("tcp", n.RealTCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("  V9"))
	c := &testConn{tb: t, conn: conn, r: newReader(conn)}
	c.expectError("E_BAD_PROTOCOL")
	c.expectClosed()
}

// TestFatalErrors checks the exact text of errors that close the
// connection, one fresh connection per case.
func TestFatalErrors(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 100
	opts.MaxBodySize = 1000
	opts.MaxReqTimeout = time.Minute
	n := startNSQD(t, opts)
	long := strings.Repeat("a", 65)
	cases := []struct {
		name  string
		setup []string // commands that must answer OK first
		send  func(c *testConn)
		want  string
	}{
		{"unknown", nil, func(c *testConn) { c.cmd("FOO") }, "E_INVALID invalid command FOO"},
		{"lowercase", nil, func(c *testConn) { c.cmd("nop") }, "E_INVALID invalid command nop"},
		{"empty line", nil, func(c *testConn) { c.cmd("") }, "E_INVALID invalid command "},
		{"pub no topic", nil, func(c *testConn) { c.cmd("PUB") }, "E_INVALID PUB insufficient number of parameters"},
		{"pub double space", nil, func(c *testConn) { c.cmd("PUB  t") }, `E_BAD_TOPIC PUB topic name "" is not valid`},
		{"pub bad topic", nil, func(c *testConn) { c.cmd("PUB bad!") }, `E_BAD_TOPIC PUB topic name "bad!" is not valid`},
		{"pub long topic", nil, func(c *testConn) { c.cmd("PUB " + long) }, fmt.Sprintf("E_BAD_TOPIC PUB topic name %q is not valid", long)},
		{"pub zero size", nil, func(c *testConn) { c.cmd("PUB t"); c.send(sizeBytes(0)) }, "E_BAD_MESSAGE PUB invalid message body size 0"},
		{"pub negative size", nil, func(c *testConn) { c.cmd("PUB t"); c.send(sizeBytes(-5)) }, "E_BAD_MESSAGE PUB invalid message body size -5"},
		{"pub too big", nil, func(c *testConn) { c.cmd("PUB t"); c.send(sizeBytes(101)) }, "E_BAD_MESSAGE PUB message too big 101 > 100"},
		{"mpub no topic", nil, func(c *testConn) { c.cmd("MPUB") }, "E_INVALID MPUB insufficient number of parameters"},
		{"mpub bad topic", nil, func(c *testConn) { c.cmd("MPUB a/b") }, `E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a/b" is not valid`},
		{"mpub zero body", nil, func(c *testConn) { c.cmd("MPUB t"); c.send(sizeBytes(0)) }, "E_BAD_BODY MPUB invalid body size 0"},
		{"mpub big body", nil, func(c *testConn) { c.cmd("MPUB t"); c.send(sizeBytes(1001)) }, "E_BAD_BODY MPUB body too big 1001 > 1000"},
		{"mpub zero count", nil, func(c *testConn) { c.cmd("MPUB t"); c.send(sizeBytes(4), sizeBytes(0)) }, "E_BAD_BODY MPUB invalid message count 0"},
		{"mpub huge count", nil, func(c *testConn) { c.cmd("MPUB t"); c.send(sizeBytes(8), sizeBytes(200)) }, "E_BAD_BODY MPUB invalid message count 200"},
		{"mpub zero message", nil, func(c *testConn) { c.cmd("MPUB t"); c.send(sizeBytes(8), sizeBytes(1), sizeBytes(0)) }, "E_BAD_MESSAGE MPUB invalid message(0) body size 0"},
		{"mpub second message too big", nil, func(c *testConn) {
			c.cmd("MPUB t")
			c.send(sizeBytes(20), sizeBytes(2), sizeBytes(1), []byte("a"), sizeBytes(101))
		}, "E_BAD_MESSAGE MPUB message too big 101 > 100"},
		{"dpub no timeout", nil, func(c *testConn) { c.cmd("DPUB t") }, "E_INVALID DPUB insufficient number of parameters"},
		{"dpub bad topic", nil, func(c *testConn) { c.cmd("DPUB t: 1") }, `E_BAD_TOPIC DPUB topic name "t:" is not valid`},
		{"dpub negative", nil, func(c *testConn) { c.cmd("DPUB t -1") }, "E_INVALID DPUB could not parse timeout -1"},
		{"dpub range", nil, func(c *testConn) { c.cmd("DPUB t 60001") }, "E_INVALID DPUB timeout 60001 out of range 0-60000"},
		{"dpub too big", nil, func(c *testConn) { c.cmd("DPUB t 5"); c.send(sizeBytes(101)) }, "E_BAD_MESSAGE DPUB message too big 101 > 100"},
		{"rdy before sub", nil, func(c *testConn) { c.cmd("RDY 1") }, "E_INVALID cannot RDY in current state"},
		{"fin before sub", nil, func(c *testConn) { c.cmd("FIN 0123456789abcdef") }, "E_INVALID cannot FIN in current state"},
		{"req before sub", nil, func(c *testConn) { c.cmd("REQ 0123456789abcdef 0") }, "E_INVALID cannot REQ in current state"},
		{"touch before sub", nil, func(c *testConn) { c.cmd("TOUCH 0123456789abcdef") }, "E_INVALID cannot TOUCH in current state"},
		{"cls before sub", nil, func(c *testConn) { c.cmd("CLS") }, "E_INVALID cannot CLS in current state"},
		{"sub no params", nil, func(c *testConn) { c.cmd("SUB t") }, "E_INVALID SUB insufficient number of parameters"},
		{"sub bad topic", nil, func(c *testConn) { c.cmd("SUB #ephemeral c") }, `E_BAD_TOPIC SUB topic name "#ephemeral" is not valid`},
		{"sub bad channel name", nil, func(c *testConn) { c.cmd("SUB t a:b") }, `E_BAD_CHANNEL SUB channel name "a:b" is not valid`},
		{"sub twice", []string{"SUB t c"}, func(c *testConn) { c.cmd("SUB t c") }, "E_INVALID cannot SUB in current state"},
		{"rdy parse", []string{"SUB t c"}, func(c *testConn) { c.cmd("RDY -1") }, "E_INVALID RDY could not parse count -1"},
		{"rdy range", []string{"SUB t c"}, func(c *testConn) { c.cmd("RDY 2501") }, "E_INVALID RDY count 2501 out of range 0-2500"},
		{"fin no id", []string{"SUB t c"}, func(c *testConn) { c.cmd("FIN") }, "E_INVALID FIN insufficient number of params"},
		{"fin short id", []string{"SUB t c"}, func(c *testConn) { c.cmd("FIN abc") }, "E_INVALID invalid message ID"},
		{"req no timeout", []string{"SUB t c"}, func(c *testConn) { c.cmd("REQ 0123456789abcdef") }, "E_INVALID REQ insufficient number of params"},
		{"req bad timeout", []string{"SUB t c"}, func(c *testConn) { c.cmd("REQ 0123456789abcdef x") }, "E_INVALID REQ could not parse timeout x"},
		{"touch no id", []string{"SUB t c"}, func(c *testConn) { c.cmd("TOUCH") }, "E_INVALID TOUCH insufficient number of params"},
		{"identify after sub", []string{"SUB t c"}, func(c *testConn) { c.cmd("IDENTIFY", []byte("{}")) }, "E_INVALID cannot IDENTIFY in current state"},
		{"auth after sub", []string{"SUB t c"}, func(c *testConn) { c.cmd("AUTH", []byte("x")) }, "E_INVALID cannot AUTH in current state"},
		{"auth params", nil, func(c *testConn) { c.cmd("AUTH x") }, "E_INVALID AUTH invalid number of parameters"},
		{"auth disabled", nil, func(c *testConn) { c.cmd("AUTH", []byte("secret")) }, "E_AUTH_DISABLED AUTH disabled"},
		{"auth zero body", nil, func(c *testConn) { c.cmd("AUTH"); c.send(sizeBytes(0)) }, "E_BAD_BODY AUTH invalid body size 0"},
		{"identify big", nil, func(c *testConn) { c.cmd("IDENTIFY"); c.send(sizeBytes(1001)) }, "E_BAD_BODY IDENTIFY body too big 1001 > 1000"},
		{"identify zero", nil, func(c *testConn) { c.cmd("IDENTIFY"); c.send(sizeBytes(0)) }, "E_BAD_BODY IDENTIFY invalid body size 0"},
		{"identify bad json", nil, func(c *testConn) { c.cmd("IDENTIFY", []byte("{")) }, "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"identify wrong type", nil, func(c *testConn) { c.cmd("IDENTIFY", []byte(`{"client_id":1}`)) }, "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"cls then cls", []string{"SUB t c"}, func(c *testConn) {
			c.cmd("CLS")
			c.expect(protocol.FrameTypeResponse, "CLOSE_WAIT")
			c.cmd("CLS")
		}, "E_INVALID cannot CLS in current state"},
	}
	for _, tc := range cases {
		if tc.want == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, n)
			for _, s := range tc.setup {
				c.cmd(s)
				c.expectOK()
			}
			tc.send(c)
			c.expectError(tc.want)
			c.expectClosed()
		})
	}
	// the daemon still serves after all of that
	sub := subscribe(t, n, "after", "c", 1)
	publish(t, n, "after", "still here")
	if m := sub.readMsg(); m.body != "still here" {
		t.Fatalf("got %q", m.body)
	}
}

func sizeBytes(n int32) []byte {
	return []byte{byte(uint32(n) >> 24), byte(uint32(n) >> 16), byte(uint32(n) >> 8), byte(uint32(n))}
}

func TestNonFatalErrors(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	a := subscribe(t, n, "nf", "c", 1)
	b := subscribe(t, n, "nf", "c", 0)
	publish(t, n, "nf", "m1")
	m := a.readMsg()

	b.cmd("FIN " + m.id)
	b.expectError("E_FIN_FAILED FIN " + m.id + " failed client does not own message")
	b.cmd("REQ " + m.id + " 0")
	b.expectError("E_REQ_FAILED REQ " + m.id + " failed client does not own message")
	b.cmd("TOUCH " + m.id)
	b.expectError("E_TOUCH_FAILED TOUCH " + m.id + " failed client does not own message")

	a.cmd("FIN 0123456789abcdef")
	a.expectError("E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight")
	a.cmd("REQ 0123456789abcdef 10")
	a.expectError("E_REQ_FAILED REQ 0123456789abcdef failed ID not in flight")
	a.cmd("TOUCH 0123456789abcdef")
	a.expectError("E_TOUCH_FAILED TOUCH 0123456789abcdef failed ID not in flight")

	// both connections still work
	a.cmd("FIN " + m.id)
	a.cmd("NOP")
	publish(t, n, "nf", "m2")
	b.cmd("RDY 1")
	a.cmd("RDY 0")
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "nf", "c")
		return cs != nil && cs.InFlightCount == 1
	}, "m2 in flight")
}

func TestCRLFAndExtraParams(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	c.send([]byte("PUB crlf extra\r\n"), sized([]byte("x")))
	c.expectOK()
	c.send([]byte("NOP x\n"))
	c.cmd("PUB crlf", []byte("y"))
	c.expectOK()
	if got := getStats(t, n, "&topic=crlf").Topics[0].MessageCount; got != 2 {
		t.Fatalf("message_count %d", got)
	}
}

func TestPipelinedCommands(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	var batch []byte
	for i := 0; i < 50; i++ {
		batch = append(batch, []byte("PUB pipe\n")...)
		batch = append(batch, sized([]byte(fmt.Sprint(i)))...)
	}
	c.send(batch)
	for i := 0; i < 50; i++ {
		c.expectOK()
	}
}

func TestIdentify(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	f := c.identify(map[string]any{"client_id": "cid"})
	if string(f.data) != "OK" {
		t.Fatalf("plain identify: %s", f)
	}
	f = c.identify(map[string]any{"feature_negotiation": true, "user_agent": "test/1"})
	want := `{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250,"topology_region":"","topology_zone":""}`
	if string(f.data) != want {
		t.Fatalf("negotiation reply\n got %s\nwant %s", f.data, want)
	}
	// IDENTIFY without client_id overwrote it with "" (NSQ behaviour)
	c.cmd("SUB idt c")
	c.expectOK()
	cs := channelStatsOf(t, n, "idt", "c")
	if len(cs.Clients) != 1 || cs.Clients[0].ClientID != "" || cs.Clients[0].UserAgent != "test/1" {
		t.Fatalf("client stats %+v", cs.Clients)
	}
}

func TestIdentifyRanges(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	cases := []struct {
		field string
		value int
		err   string
	}{
		{"heartbeat_interval", 999, "heartbeat interval (999) is invalid"},
		{"heartbeat_interval", 1000, ""},
		{"heartbeat_interval", 60000, ""},
		{"heartbeat_interval", 60001, "heartbeat interval (60001) is invalid"},
		{"heartbeat_interval", -1, ""},
		{"heartbeat_interval", -2, "heartbeat interval (-2) is invalid"},
		{"output_buffer_size", 63, "output buffer size (63) is invalid"},
		{"output_buffer_size", 64, ""},
		{"output_buffer_size", 65536, ""},
		{"output_buffer_size", 65537, "output buffer size (65537) is invalid"},
		{"output_buffer_size", -1, ""},
		{"output_buffer_timeout", 24, "output buffer timeout (24) is invalid"},
		{"output_buffer_timeout", 25, ""},
		{"output_buffer_timeout", 30000, ""},
		{"output_buffer_timeout", 30001, "output buffer timeout (30001) is invalid"},
		{"output_buffer_timeout", -1, ""},
		{"sample_rate", 99, ""},
		{"sample_rate", 100, "sample rate (100) is invalid"},
		{"sample_rate", -1, "sample rate (-1) is invalid"},
		{"msg_timeout", 999, "msg timeout (999) is invalid"},
		{"msg_timeout", 1000, ""},
		{"msg_timeout", 900000, ""},
		{"msg_timeout", 900001, "msg timeout (900001) is invalid"},
		{"msg_timeout", -1, "msg timeout (-1) is invalid"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s=%d", tc.field, tc.value), func(t *testing.T) {
			c := dial(t, n)
			f := c.identify(map[string]any{tc.field: tc.value, "feature_negotiation": true})
			if tc.err != "" {
				if f.typ != protocol.FrameTypeError || string(f.data) != "E_BAD_BODY IDENTIFY "+tc.err {
					t.Fatalf("got %s, want E_BAD_BODY IDENTIFY %s", f, tc.err)
				}
				c.expectClosed()
				return
			}
			var resp identifyResponse
			if f.typ != protocol.FrameTypeResponse || json.Unmarshal(f.data, &resp) != nil {
				t.Fatalf("got %s", f)
			}
			switch tc.field {
			case "output_buffer_size":
				want := tc.value
				if want == -1 {
					want = 1
				}
				if resp.OutputBufferSize != want || (tc.value == -1 && resp.OutputBufferTimeout != 0) {
					t.Fatalf("reply %+v", resp)
				}
			case "output_buffer_timeout":
				want := int64(tc.value)
				if want == -1 {
					want = 0
				}
				if resp.OutputBufferTimeout != want {
					t.Fatalf("reply %+v", resp)
				}
			case "msg_timeout":
				if resp.MsgTimeout != int64(tc.value) {
					t.Fatalf("reply %+v", resp)
				}
			case "sample_rate":
				if resp.SampleRate != int32(tc.value) {
					t.Fatalf("reply %+v", resp)
				}
			}
		})
	}
}

func TestIdentifyValidationOrder(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	f := c.identify(map[string]any{"heartbeat_interval": 1, "output_buffer_size": 1, "sample_rate": 200})
	if string(f.data) != "E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid" {
		t.Fatalf("got %s", f)
	}
	c = dial(t, n)
	f = c.identify(map[string]any{"output_buffer_size": 1, "output_buffer_timeout": 1})
	if string(f.data) != "E_BAD_BODY IDENTIFY output buffer timeout (1) is invalid" {
		t.Fatalf("got %s", f)
	}
}

func TestSubWithHeartbeatsDisabled(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	if f := c.identify(map[string]any{"heartbeat_interval": -1}); string(f.data) != "OK" {
		t.Fatal(f)
	}
	// a producer without heartbeats works
	c.cmd("PUB hb", []byte("x"))
	c.expectOK()
	c.cmd("SUB hb c")
	c.expectError("E_INVALID cannot SUB with heartbeats disabled")
	c.expectClosed()
}

func TestCompressionNegotiation(t *testing.T) {
	t.Run("both", func(t *testing.T) {
		n := startNSQD(t, testOptions(t))
		c := dial(t, n)
		f := c.identify(map[string]any{"feature_negotiation": true, "snappy": true, "deflate": true})
		if string(f.data) != "E_IDENTIFY_FAILED cannot enable both deflate and snappy compression" {
			t.Fatalf("got %s", f)
		}
		c.expectClosed()
	})
	t.Run("snappy disabled", func(t *testing.T) {
		opts := testOptions(t)
		opts.SnappyEnabled = false
		opts.MaxDeflateLevel = 3
		n := startNSQD(t, opts)
		c := dial(t, n)
		f := c.identify(map[string]any{"feature_negotiation": true, "snappy": true, "deflate": true, "deflate_level": 9})
		var resp identifyResponse
		if err := json.Unmarshal(f.data, &resp); err != nil {
			t.Fatalf("got %s", f)
		}
		if resp.Snappy || !resp.Deflate || resp.DeflateLevel != 3 || resp.MaxDeflateLevel != 3 {
			t.Fatalf("reply %+v", resp)
		}
	})
}

func TestMPUBCreatesTopicEvenIfBodyBad(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	c := dial(t, n)
	c.cmd("MPUB badbody")
	c.send(sizeBytes(8), sizeBytes(0))
	c.expectError("E_BAD_BODY MPUB invalid message count 0")
	if _, err := n.GetExistingTopic("badbody"); err != nil {
		t.Fatal("MPUB with a bad body did not create the topic")
	}
	// PUB validates the body before creating the topic
	c = dial(t, n)
	c.cmd("PUB pubbad")
	c.send(sizeBytes(0))
	c.expectError("E_BAD_MESSAGE PUB invalid message body size 0")
	if _, err := n.GetExistingTopic("pubbad"); err == nil {
		t.Fatal("PUB with a bad body created the topic")
	}
}

func TestMPUB(t *testing.T) {
	opts := testOptions(t)
	opts.MaxMsgSize = 10
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "mp", "c", 10)
	c := dial(t, n)
	c.cmd("MPUB mp", mpubBody("a", "bb", "0123456789"))
	c.expectOK()
	for _, want := range []string{"a", "bb", "0123456789"} {
		if m := sub.readMsg(); m.body != want {
			t.Fatalf("got %q want %q", m.body, want)
		}
	}
}

func TestDisconnectMidBody(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "mid", "c", 10)
	for _, partial := range [][]byte{
		append([]byte("PUB mid\n"), append(sizeBytes(100), "short"...)...),
		append([]byte("MPUB mid\n"), append(sizeBytes(100), append(sizeBytes(2), append(sizeBytes(3), "abc"...)...)...)...),
		[]byte("PUB mid\n\x00\x00"),
		[]byte("IDENTIFY\n\x00\x00\x00\x10{\"a\""),
	} {
		c := dial(t, n)
		c.send(partial)
		c.conn.Close()
	}
	publish(t, n, "mid", "whole")
	if m := sub.readMsg(); m.body != "whole" {
		t.Fatalf("got %q", m.body)
	}
	eventually(t, func() bool { return getStats(t, n, "&topic=mid").Topics[0].MessageCount == 1 }, "only the whole message counted")
}

func TestMessageIDs(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "ids", "c", 2500)
	c := dial(t, n)
	bodies := make([]string, 1000)
	for i := range bodies {
		bodies[i] = fmt.Sprint(i)
	}
	c.cmd("MPUB ids", mpubBody(bodies...))
	c.expectOK()
	seen := map[string]bool{}
	for range bodies {
		m := sub.readMsg()
		if len(m.id) != 16 || strings.Trim(m.id, "0123456789abcdef") != "" {
			t.Fatalf("bad id %q", m.id)
		}
		if seen[m.id] {
			t.Fatalf("duplicate id %s", m.id)
		}
		seen[m.id] = true
		if m.ts <= 0 || time.Since(time.Unix(0, m.ts)) > time.Minute {
			t.Fatalf("bad timestamp %d", m.ts)
		}
	}
}
