package nsqd

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
)

// fuzzNSQD starts a quiet daemon shared by the inputs of one fuzz
// target (a daemon per input would spend the run starting daemons).
func fuzzNSQD(f *testing.F) *NSQD {
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress, opts.HTTPSAddress = "127.0.0.1:0", "127.0.0.1:0", ""
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = f.TempDir()
	opts.Logger = lg.Nop{}
	opts.LogLevel = lg.FATAL
	opts.MemQueueSize = 10
	return startNSQD(f, opts)
}

// session sends magic+input on a fresh TCP connection, half-closes it and
// reads every reply until the daemon closes its side.
func session(t *testing.T, addr, magic string, input []byte) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("daemon stopped accepting: %v", err)
	}
	tc := conn.(*net.TCPConn)
	defer func() {
		tc.SetLinger(0) // no TIME_WAIT: a run makes many connections
		tc.Close()
	}()
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		tc.Write(append([]byte(magic), input...))
		tc.CloseWrite()
	}()
	if _, err := io.Copy(io.Discard, tc); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("daemon did not end the session within 5 s of the input's end")
		}
	}
}

// FuzzV2Session runs arbitrary bytes through the V2 protocol of a real
// daemon; it must neither crash nor hang on them.
func FuzzV2Session(f *testing.F) {
	n := fuzzNSQD(f)
	pub := append([]byte("PUB fz\n"), protocol.AppendBody(nil, []byte("hello"))...)
	mpub := append([]byte("MPUB fz\n"), protocol.AppendBody(nil, protocol.AppendMPUB(nil, []byte("a"), []byte("b")))...)
	ident, _ := json.Marshal(map[string]any{"heartbeat_interval": 1000, "feature_negotiation": true})
	for _, s := range [][]byte{
		[]byte("NOP\n"), pub, mpub,
		append(append([]byte("IDENTIFY\n"), protocol.AppendBody(nil, ident)...), "SUB fz ch\nRDY 10\nFIN 0000000000000000\n"...),
		[]byte("SUB fz ch\nRDY 18446744073709551615\nREQ 0000000000000000 99999999999\nTOUCH x\nCLS\n"),
		[]byte("DPUB fz 1000\n\x00\x00\x00\x01x"), []byte("AUTH\n\x00\x00\x00\x02{}"),
		[]byte("MPUB fz\n\x00\x4c\x4b\x40\x00\x0f\x42\x40"), []byte("IDENTIFY\n\x00\x00\x00\x0f{\"snappy\":true}garbage"),
	} {
		f.Add(s)
	}
	addr := n.RealTCPAddr().String()
	f.Fuzz(func(t *testing.T, input []byte) {
		session(t, addr, protocol.MagicV2, input)
	})
}

// FuzzHTTPMPUB decodes arbitrary /mpub bodies in both modes.
func FuzzHTTPMPUB(f *testing.F) {
	f.Add([]byte("a\nb\n\nc"), false)
	f.Add(protocol.AppendMPUB(nil, []byte("a"), []byte("bc")), true)
	f.Add([]byte{0, 0x0f, 0x42, 0x40, 0, 0, 0, 4, 'a'}, true)
	f.Fuzz(func(t *testing.T, body []byte, binaryMode bool) {
		const maxBody, maxMsg = 64 << 10, 1 << 10
		var bodies [][]byte
		var err error
		if binaryMode {
			bodies, err = readBinaryMPUB(bytes.NewReader(body), maxBody, maxMsg)
		} else {
			bodies, err = readTextMPUB(bytes.NewReader(body), maxBody, maxMsg)
		}
		if err != nil {
			var herr interface{ Error() string }
			if !errors.As(err, &herr) {
				t.Fatal(err)
			}
			return
		}
		total := 0
		for _, b := range bodies {
			if len(b) == 0 || len(b) > maxMsg {
				t.Fatalf("message of %d bytes accepted", len(b))
			}
			if !binaryMode && bytes.IndexByte(b, '\n') >= 0 {
				t.Fatalf("text message %q holds a newline", b)
			}
			total += len(b)
		}
		if total > len(body) {
			t.Fatalf("%d message bytes out of a %d-byte body", total, len(body))
		}
	})
}

// FuzzIdentify decodes and validates arbitrary IDENTIFY bodies: whatever
// is accepted lies within the daemon's limits.
func FuzzIdentify(f *testing.F) {
	n := fuzzNSQD(f)
	for _, s := range []string{`{}`, `{"heartbeat_interval":-1}`, `{"heartbeat_interval":18446744078710}`,
		`{"msg_timeout":1000,"output_buffer_size":64,"output_buffer_timeout":1}`, `{"sample_rate":"x"}`,
		`{"deflate":true,"deflate_level":99,"snappy":true}`, `[1,2]`, `{"client_id":"\u0000"}`} {
		f.Add([]byte(s))
	}
	o := n.opts
	p := &protocolV2{n: n}
	server, client := net.Pipe()
	f.Cleanup(func() { server.Close(); client.Close() })
	c := newClient(1, server, &clientDefaults{heartbeat: 30 * time.Second, outputBufferTimeout: o.OutputBufferTimeout, msgTimeout: o.MsgTimeout})
	f.Fuzz(func(t *testing.T, body []byte) {
		var req identifyRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		s, err := p.validateIdentify(c, &req)
		if err != nil {
			return
		}
		switch {
		case s.heartbeat < 0 || s.heartbeat > o.MaxHeartbeatInterval:
			t.Fatalf("heartbeat %s accepted", s.heartbeat)
		case s.msgTimeout <= 0 || s.msgTimeout > o.MaxMsgTimeout:
			t.Fatalf("msg timeout %s accepted", s.msgTimeout)
		case s.outputTimeout < 0 || s.outputTimeout > o.MaxOutputBufferTimeout:
			t.Fatalf("output buffer timeout %s accepted", s.outputTimeout)
		case s.outputSize < 1 || int64(s.outputSize) > o.MaxOutputBufferSize:
			t.Fatalf("output buffer size %d accepted", s.outputSize)
		}
	})
}

// FuzzMetadataLoad starts a daemon on a data directory whose nsqd.dat
// holds arbitrary bytes: it starts or refuses with an error, and loads
// only valid names.
func FuzzMetadataLoad(f *testing.F) {
	for _, s := range []string{`{"topics":[{"name":"t","paused":true,"channels":[{"name":"c","paused":false}]}],"version":"1.3.0"}`,
		`{"topics":[{"name":"bad name","channels":[{"name":"../x"}]}]}`, `{"topics":null}`, `{"topics":[{"name":"t#ephemeral"}]}`,
		`[]`, ``, `{"topics":[{"name":"t","channels":[{"name":"c"},{"name":"c"}]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, metadataFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		opts := NewOptions()
		opts.TCPAddress, opts.HTTPAddress, opts.HTTPSAddress = "127.0.0.1:0", "", ""
		opts.DataPath = dir
		opts.Logger = lg.Nop{}
		n, err := New(opts)
		if err != nil {
			return
		}
		for _, tp := range n.topicList() {
			if strings.ContainsAny(tp.name, " /") || tp.name == "" {
				t.Errorf("loaded topic %q", tp.name)
			}
		}
		n.Exit()
	})
}

// FuzzDecodeMessage: a disk record decodes only when it has a whole
// header, and then encodes back to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	m := NewMessage(MessageID{'0', '1'}, []byte("body"))
	m.Attempts = 3
	f.Add(m.encode())
	f.Add([]byte{})
	f.Add(make([]byte, msgHeaderLength))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if len(b) < msgHeaderLength {
			if err == nil {
				t.Fatalf("%d-byte record decoded", len(b))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if enc := m.encode(); !bytes.Equal(enc, b) {
			t.Fatalf("round trip: %x != %x", enc, b)
		}
	})
}

// fuzzPaths are the routes FuzzHTTPQuery sends query strings to: every
// route with parameters except those that change the daemon's settings
// (PUT /config, /debug/setblockrate) or block (/debug/pprof/profile).
var fuzzPaths = []struct{ method, path string }{
	{"POST", "/pub"}, {"POST", "/mpub"}, {"GET", "/stats"}, {"POST", "/topic/create"},
	{"POST", "/topic/delete"}, {"POST", "/topic/empty"}, {"POST", "/topic/pause"}, {"POST", "/topic/unpause"},
	{"POST", "/channel/create"}, {"POST", "/channel/delete"}, {"POST", "/channel/empty"},
	{"POST", "/channel/pause"}, {"POST", "/channel/unpause"}, {"GET", "/config/mem_queue_size"},
	{"GET", "/info"}, {"GET", "/ping"}, {"GET", "/metrics"},
}

// FuzzHTTPQuery sends arbitrary query strings to the HTTP API: each gets
// an answer that is not a 500.
func FuzzHTTPQuery(f *testing.F) {
	n := fuzzNSQD(f)
	for _, s := range []string{"topic=t", "topic=t&defer=9223372036854775807", "topic=t&binary=true",
		"topic=t&channel=c", "format=json&topic=t&channel=c&include_clients=false", "topic=%zz",
		"topic=t&topic=u", "format=text&include_mem=0", "topic=" + strings.Repeat("a", 70)} {
		f.Add(uint8(0), s, []byte("body"))
	}
	h := newHTTPServer(n, false)
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := fuzzPaths[int(route)%len(fuzzPaths)]
		req, err := http.NewRequest(r.method, "http://127.0.0.1"+r.path+"?"+query, bytes.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s?%s: %d %s", r.method, r.path, query, rec.Code, rec.Body)
		}
	})
}
