package refdiff

import (
	"testing"

	"github.com/dropin/nsq/internal/testutil"
)

// TestNSQDTLSRequired compares --tls-required=true: the plain HTTP
// listener's 403, the HTTPS listener, and the TCP commands refused before
// the TLS upgrade.
func TestNSQDTLSRequired(t *testing.T) {
	cert, key := testutil.WriteCert(t, t.TempDir(), "127.0.0.1")
	for _, mode := range []string{"true", "tcp-https"} {
		t.Run(mode, func(t *testing.T) {
			ref, our, c := nsqdPair(t, append(nsqdFlags, "--tls-cert="+cert, "--tls-key="+key, "--tls-required="+mode)...)
			reqs := []req{
				get("ping", "/ping"),
				get("info", "/info"),
				post("pub", "/pub?topic=t1", "m"),
				get("stats", "/stats?format=json"),
				get("unknown", "/nope"),
				get("config tls_required", "/config/tls_required"),
			}
			httpPair(t, c, ref.http, our.http, reqs)
			var sreqs []req
			for _, r := range append(reqs, get("config tls_min_version", "/config/tls_min_version")) {
				r.name = "https " + r.name
				sreqs = append(sreqs, r)
			}
			httpPair(t, c, "https://"+ref.https, "https://"+our.https, sreqs)
			tcpPair(t, c, ref.tcp, our.tcp, "  V2", true, []tcpCase{
				{"PUB before TLS", []step{withBody("PUB t1", []byte("m"))}},
				{"SUB before TLS", []step{line("SUB t1 c1")}},
				{"NOP before TLS", []step{line("NOP")}},
				{"AUTH before TLS", []step{withBody("AUTH", []byte("s"))}},
				{"IDENTIFY without tls", []step{identify(`{"feature_negotiation":true}`)}},
				{"IDENTIFY without tls then PUB", []step{identify(`{"feature_negotiation":true}`), withBody("PUB t1", []byte("m"))}},
				{"IDENTIFY plain then PUB", []step{identify(`{}`), withBody("PUB t1", []byte("m"))}},
				{"IDENTIFY tls", []step{identify(`{"tls_v1":true,"feature_negotiation":true}`)}},
			})
		})
	}
}
