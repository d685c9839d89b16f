package lookupdtest_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// nodes returns the TCP ports of the producers nsqlookupd's /nodes lists.
func nodes(tb testing.TB, httpAddr string) []int {
	tb.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + httpAddr + "/nodes")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Producers []struct {
			TCPPort int `json:"tcp_port"`
		} `json:"producers"`
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("/nodes: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Fatalf("/nodes: %v", err)
	}
	ports := make([]int, len(body.Producers))
	for i, p := range body.Producers {
		ports[i] = p.TCPPort
	}
	return ports
}

// TestStartAndRegister starts an nsqlookupd and an nsqd registered with
// it (nsqdtest.Lookupds): /nodes must come to list that nsqd.
func TestStartAndRegister(t *testing.T) {
	l := lookupdtest.Start(t)
	lookupTCP, lookupHTTP := lookupdtest.Addrs(l)
	for _, addr := range []string{lookupTCP, lookupHTTP} {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Fatalf("address %q, want 127.0.0.1 and a kernel-chosen port", addr)
		}
	}
	if ports := nodes(t, lookupHTTP); len(ports) != 0 {
		t.Fatalf("fresh nsqlookupd lists producers on ports %v", ports)
	}

	nsqdTCP, _ := nsqdtest.Addrs(nsqdtest.Start(t, nsqdtest.Lookupds(lookupTCP)))
	_, portStr, _ := net.SplitHostPort(nsqdTCP)
	port, _ := strconv.Atoi(portStr)
	testutil.Eventually(t, 10*time.Second, func() bool {
		ports := nodes(t, lookupHTTP)
		return len(ports) == 1 && ports[0] == port
	}, "nsqd on %s not listed by /nodes", nsqdTCP)
}
