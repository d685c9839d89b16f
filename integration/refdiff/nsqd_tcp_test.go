package refdiff

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func identify(js string) step { return withBody("IDENTIFY", []byte(js)) }

func sizeOnly(cmd string, n int32) step {
	return raw(binary.BigEndian.AppendUint32([]byte(cmd+"\n"), uint32(n)))
}

// v2Cases are conversations after the "  V2" magic whose replies (and
// the closing of the connection) must match NSQ's.
func v2Cases() []tcpCase {
	big := strings.Repeat("x", 101)
	sub := []step{line("SUB t1 c1"), line("RDY 1")}
	return []tcpCase{
		{"empty line", []step{line("")}},
		{"lower case", []step{line("nop")}},
		{"unknown", []step{line("FOO bar")}},
		{"NOP", []step{line("NOP")}},
		{"trailing CR", []step{line("NOP\r")}},
		{"IDENTIFY plain", []step{identify(`{"client_id":"a","hostname":"h"}`)}},
		{"IDENTIFY negotiation", []step{identify(`{"client_id":"a","hostname":"h","feature_negotiation":true,"user_agent":"u/1"}`)}},
		{"IDENTIFY twice", []step{identify(`{}`), identify(`{}`)}},
		{"IDENTIFY bad json", []step{identify(`{`)}},
		{"IDENTIFY wrong type", []step{identify(`{"client_id":1}`)}},
		{"IDENTIFY size 0", []step{sizeOnly("IDENTIFY", 0)}},
		{"IDENTIFY size negative", []step{sizeOnly("IDENTIFY", -1)}},
		{"IDENTIFY too big", []step{sizeOnly("IDENTIFY", 1<<20)}},
		{"IDENTIFY truncated size", []step{raw([]byte("IDENTIFY\n\x00\x00"))}},
		{"IDENTIFY heartbeat bad", []step{identify(`{"heartbeat_interval":999}`)}},
		{"IDENTIFY heartbeat too big", []step{identify(`{"heartbeat_interval":60001}`)}},
		{"IDENTIFY heartbeat disabled", []step{identify(`{"heartbeat_interval":-1,"feature_negotiation":true}`)}},
		{"IDENTIFY heartbeat -2", []step{identify(`{"heartbeat_interval":-2}`)}},
		{"IDENTIFY output buffer bad", []step{identify(`{"output_buffer_size":10}`)}},
		{"IDENTIFY output buffer too big", []step{identify(`{"output_buffer_size":100000}`)}},
		{"IDENTIFY output timeout bad", []step{identify(`{"output_buffer_timeout":0}`)}},
		{"IDENTIFY output timeout big", []step{identify(`{"output_buffer_timeout":30001}`)}},
		{"IDENTIFY output disabled", []step{identify(`{"output_buffer_size":-1,"output_buffer_timeout":-1,"feature_negotiation":true}`)}},
		{"IDENTIFY sample rate bad", []step{identify(`{"sample_rate":100}`)}},
		{"IDENTIFY sample rate negative", []step{identify(`{"sample_rate":-1}`)}},
		{"IDENTIFY msg timeout bad", []step{identify(`{"msg_timeout":999}`)}},
		{"IDENTIFY msg timeout ok", []step{identify(`{"msg_timeout":5000,"feature_negotiation":true}`)}},
		{"IDENTIFY deflate level bad", []step{identify(`{"deflate":true,"deflate_level":10,"feature_negotiation":true}`)}},
		{"IDENTIFY deflate+snappy", []step{identify(`{"deflate":true,"snappy":true,"feature_negotiation":true}`)}},
		{"IDENTIFY tls unconfigured", []step{identify(`{"tls_v1":true,"feature_negotiation":true}`)}},
		{"IDENTIFY unknown key", []step{identify(`{"nope":1}`)}},
		{"IDENTIFY after SUB", []step{line("SUB t1 c1"), identify(`{}`)}},

		{"SUB no params", []step{line("SUB")}},
		{"SUB one param", []step{line("SUB t1")}},
		{"SUB bad topic", []step{line("SUB a$ c")}},
		{"SUB bad channel", []step{line("SUB t1 c$")}},
		{"SUB twice", []step{line("SUB t1 c1"), line("SUB t1 c1")}},
		{"SUB ok", []step{line("SUB t1 c9")}},
		{"SUB heartbeats disabled", []step{identify(`{"heartbeat_interval":-1}`), line("SUB t1 c1")}},
		{"SUB extra params", []step{line("SUB t1 c1 x")}},
		{"RDY before SUB", []step{line("RDY 1")}},
		{"RDY no count", []step{line("SUB t1 c9"), line("RDY")}},
		{"RDY bad", []step{line("SUB t1 c1"), line("RDY x")}},
		{"RDY negative", []step{line("SUB t1 c1"), line("RDY -1")}},
		{"RDY plus", []step{line("SUB t1 c1"), line("RDY +1")}},
		{"RDY too big", []step{line("SUB t1 c1"), line("RDY 2501")}},
		{"RDY max", []step{line("SUB t1 c9"), line("RDY 2500")}},
		{"FIN before SUB", []step{line("FIN 0123456789abcdef")}},
		{"FIN no id", []step{line("SUB t1 c1"), line("FIN")}},
		{"FIN short id", []step{line("SUB t1 c1"), line("FIN 123")}},
		{"FIN unknown id", []step{line("SUB t1 c1"), line("FIN 0123456789abcdef"), line("NOP")}},
		{"FIN twice", append(append([]step{}, sub...), await(), line("RDY 0"), line("FIN {ID}"), line("FIN {ID}"))},
		{"REQ before SUB", []step{line("REQ 0123456789abcdef 0")}},
		{"REQ no params", []step{line("SUB t1 c1"), line("REQ")}},
		{"REQ one param", []step{line("SUB t1 c1"), line("REQ 0123456789abcdef")}},
		{"REQ bad timeout", []step{line("SUB t1 c1"), line("REQ 0123456789abcdef x")}},
		{"REQ unknown id", []step{line("SUB t1 c1"), line("REQ 0123456789abcdef 0")}},
		{"REQ timeout too big", append(append([]step{}, sub...), await(), line("RDY 0"), line("REQ {ID} 3600001"))},
		{"REQ negative timeout", append(append([]step{}, sub...), await(), line("RDY 0"), line("REQ {ID} -1"))},
		{"REQ ok", append(append([]step{}, sub...), await(), line("RDY 0"), line("REQ {ID} 0"))},
		{"TOUCH before SUB", []step{line("TOUCH 0123456789abcdef")}},
		{"TOUCH no id", []step{line("SUB t1 c1"), line("TOUCH")}},
		{"TOUCH unknown", []step{line("SUB t1 c1"), line("TOUCH 0123456789abcdef")}},
		{"TOUCH ok", append(append([]step{}, sub...), await(), line("RDY 0"), line("TOUCH {ID}"), line("FIN {ID}"))},
		{"CLS before SUB", []step{line("CLS")}},
		{"CLS", []step{line("SUB t1 c9"), line("CLS")}},
		{"CLS then RDY", []step{line("SUB t1 c9"), line("CLS"), line("RDY 1")}},

		{"PUB no topic", []step{line("PUB")}},
		{"PUB bad topic", []step{withBody("PUB a$", []byte("m"))}},
		{"PUB ok", []step{withBody("PUB t2", []byte("m"))}},
		{"PUB empty", []step{withBody("PUB t2", nil)}},
		{"PUB too big", []step{withBody("PUB t2", []byte(big))}},
		{"PUB max", []step{withBody("PUB t2", []byte(big[:100]))}},
		{"PUB negative size", []step{sizeOnly("PUB t2", -5)}},
		{"PUB truncated size", []step{raw([]byte("PUB t2\n\x00"))}},
		{"PUB truncated body", []step{raw(append(binary.BigEndian.AppendUint32([]byte("PUB t2\n"), 5), 'a'))}},
		{"PUB after SUB", []step{line("SUB t1 c9"), withBody("PUB t2", []byte("m"))}},
		{"MPUB no topic", []step{line("MPUB")}},
		{"MPUB bad topic", []step{withBody("MPUB a$", mpubBody("m"))}},
		{"MPUB ok", []step{withBody("MPUB t2", mpubBody("a", "b"))}},
		{"MPUB zero count", []step{withBody("MPUB t2", mpubBody())}},
		{"MPUB empty body", []step{withBody("MPUB t2", nil)}},
		{"MPUB body too big", []step{sizeOnly("MPUB t2", 401)}},
		{"MPUB negative body", []step{sizeOnly("MPUB t2", -1)}},
		{"MPUB empty message", []step{withBody("MPUB t2", mpubBody("a", ""))}},
		{"MPUB message too big", []step{withBody("MPUB t2", mpubBody(big))}},
		{"MPUB count too big", []step{withBody("MPUB t2", binary.BigEndian.AppendUint32(nil, 1000))}},
		{"MPUB short body", []step{withBody("MPUB t2", mpubBody("abc")[:9])}},
		{"MPUB trailing bytes", []step{withBody("MPUB t2", append(mpubBody("abc"), 'x'))}},
		{"DPUB no params", []step{line("DPUB")}},
		{"DPUB no timeout", []step{line("DPUB t2")}},
		{"DPUB bad topic", []step{withBody("DPUB a$ 10", []byte("m"))}},
		{"DPUB bad timeout", []step{withBody("DPUB t2 x", []byte("m"))}},
		{"DPUB timeout too big", []step{withBody("DPUB t2 10001", []byte("m"))}},
		{"DPUB negative timeout", []step{withBody("DPUB t2 -1", []byte("m"))}},
		{"DPUB ok", []step{withBody("DPUB t2 10", []byte("m"))}},
		{"DPUB empty", []step{withBody("DPUB t2 10", nil)}},
		{"DPUB too big", []step{withBody("DPUB t2 10", []byte(big))}},
		{"AUTH disabled", []step{withBody("AUTH", []byte("secret"))}},
		{"AUTH with params", []step{withBody("AUTH x", []byte("secret"))}},
	}
}

func TestNSQDTCP(t *testing.T) {
	ref, our, c := nsqdPair(t, nsqdFlags...)
	for _, d := range []*daemon{ref, our} {
		mustPost(t, d.http, "/topic/create?topic=t1")
		mustPost(t, d.http, "/channel/create?topic=t1&channel=c1")
		for range 30 {
			mustPost(t, d.http, "/pub?topic=t1", "msg")
		}
	}
	tcpPair(t, c, ref.tcp, our.tcp, "  V2", true, v2Cases())
	tcpPair(t, c, ref.tcp, our.tcp, "", true, []tcpCase{
		{"bad magic", []step{raw([]byte("  V3"))}},
		{"V1 magic", []step{raw([]byte("  V1"))}},
	})
}

// TestNSQDTCPAuth checks the E_AUTH_* and E_UNAUTHORIZED texts with an
// auth server that grants publishing to topic "ok" only for secret "s".
func TestNSQDTCPAuth(t *testing.T) {
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("secret") {
		case "s":
			w.Write([]byte(`{"ttl":3600,"identity":"id","identity_url":"http://x/","authorizations":[{"topic":"ok","channels":[".*"],"permissions":["publish","subscribe"]}]}`))
		case "none":
			w.Write([]byte(`{"ttl":3600,"authorizations":[]}`))
		case "bad":
			w.Write([]byte(`{`))
		default:
			w.WriteHeader(403)
		}
	}))
	defer auth.Close()
	addr := strings.TrimPrefix(auth.URL, "http://")
	ref, our, c := nsqdPair(t, append(nsqdFlags, "--auth-http-address="+addr)...)
	tcpPair(t, c, ref.tcp, our.tcp, "  V2", true, []tcpCase{
		{"PUB before AUTH", []step{withBody("PUB ok", []byte("m"))}},
		{"SUB before AUTH", []step{line("SUB ok c")}},
		{"IDENTIFY announces auth", []step{identify(`{"feature_negotiation":true}`)}},
		{"AUTH ok", []step{withBody("AUTH", []byte("s"))}},
		{"AUTH twice", []step{withBody("AUTH", []byte("s")), withBody("AUTH", []byte("s"))}},
		{"AUTH then PUB ok", []step{withBody("AUTH", []byte("s")), withBody("PUB ok", []byte("m"))}},
		{"AUTH then PUB denied", []step{withBody("AUTH", []byte("s")), withBody("PUB other", []byte("m"))}},
		{"AUTH then SUB denied", []step{withBody("AUTH", []byte("s")), line("SUB other c")}},
		{"AUTH no authorizations", []step{withBody("AUTH", []byte("none"))}},
		{"AUTH bad reply", []step{withBody("AUTH", []byte("bad"))}},
		{"AUTH forbidden", []step{withBody("AUTH", []byte("x"))}},
		{"AUTH empty", []step{withBody("AUTH", nil)}},
		{"AUTH too big", []step{sizeOnly("AUTH", 1<<20)}},
		{"AUTH negative", []step{sizeOnly("AUTH", -1)}},
	})
}

// TestNSQDTCPMaxConsumers checks E_SUB_FAILED for --max-channel-consumers.
func TestNSQDTCPMaxConsumers(t *testing.T) {
	ref, our, c := nsqdPair(t, append(nsqdFlags, "--max-channel-consumers=1")...)
	for _, addr := range []string{ref.tcp, our.tcp} {
		holder := dialRaw(t, addr, "  V2", true)
		holder.send(t, line("SUB t1 c1").data)
		if f, ok := holder.readFrame(t); !ok || string(f.data) != "OK" {
			t.Fatalf("first SUB: %v %v", f, ok)
		}
	}
	tcpPair(t, c, ref.tcp, our.tcp, "  V2", true, []tcpCase{
		{"SUB over limit", []step{line("SUB t1 c1")}},
	})
}
