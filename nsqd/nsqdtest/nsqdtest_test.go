package nsqdtest_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqd/nsqdtest"
)

var client = &http.Client{Timeout: 10 * time.Second}

// call sends an HTTP request without a body and returns the reply's body,
// failing the test unless it is 200 OK.
func call(tb testing.TB, method, url string) string {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("%s %s: %d %q %v", method, url, resp.StatusCode, body, err)
	}
	return string(body)
}

func TestStartDefaults(t *testing.T) {
	n := nsqdtest.Start(t)
	tcpAddr, httpAddr := nsqdtest.Addrs(n)
	for _, addr := range []string{tcpAddr, httpAddr} {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Fatalf("address %q, want 127.0.0.1 and a kernel-chosen port", addr)
		}
	}
	if n.RealHTTPSAddr() != nil {
		t.Fatalf("HTTPS listening on %s, want none", n.RealHTTPSAddr())
	}
	if body := call(t, http.MethodGet, "http://"+httpAddr+"/ping"); body != "OK" {
		t.Fatalf("/ping %q", body)
	}
}

// TestRestartSameAddressAndData exits a daemon early and starts another
// on the same TCP address and data directory: the topic survives.
func TestRestartSameAddressAndData(t *testing.T) {
	dataPath := t.TempDir()
	first := nsqdtest.Start(t, func(o *nsqd.Options) { o.DataPath = dataPath })
	tcpAddr, httpAddr := nsqdtest.Addrs(first)
	call(t, http.MethodPost, "http://"+httpAddr+"/topic/create?topic=kept")
	first.Exit()

	second := nsqdtest.Start(t, func(o *nsqd.Options) { o.TCPAddress, o.DataPath = tcpAddr, dataPath })
	tcpAddr2, httpAddr2 := nsqdtest.Addrs(second)
	if tcpAddr2 != tcpAddr {
		t.Fatalf("restarted on %s, want %s", tcpAddr2, tcpAddr)
	}
	if stats := call(t, http.MethodGet, "http://"+httpAddr2+"/stats?format=json"); !strings.Contains(stats, `"topic_name":"kept"`) {
		t.Fatalf("topic lost across restart: %s", stats)
	}
}
