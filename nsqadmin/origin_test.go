package nsqadmin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestCrossOriginActionRefused: a text/plain POST that a page on another
// origin makes through a visitor's browser, with a spoofed ACL header,
// does not pause the channel; the same request from our own origin (the
// UI) and from a client that is not a browser does.
func TestCrossOriginActionRefused(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.AdminUsers = []string{"alice"} })
	host := strings.TrimPrefix(a.url, "http://")
	path := a.url + "/api/topics/orders/billing"
	body := `{"action":"pause"}`
	paused := func() bool { return c.a.topic("orders").channels["billing"].paused }

	for _, hdrs := range [][]string{
		{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"},
		{"Origin", "http://evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site", "Origin", "http://other." + host},
	} {
		h := append([]string{"Content-Type", "text/plain", "X-Forwarded-User", "alice"}, hdrs...)
		r := call(t, "POST", path, body, h...)
		if r.status != http.StatusForbidden || r.message() != "CROSS_ORIGIN_REQUEST" {
			t.Errorf("cross-origin POST %v: %d %s", hdrs, r.status, r.body)
		}
		for _, m := range []string{"DELETE"} {
			if r := call(t, m, a.url+"/api/topics/orders", nil, h...); r.status != http.StatusForbidden {
				t.Errorf("cross-origin %s %v: %d %s", m, hdrs, r.status, r.body)
			}
		}
	}
	if paused() {
		t.Fatal("a cross-origin request paused the channel")
	}
	// reads are not state-changing: still answered across origins
	if r := call(t, "GET", a.url+"/api/topics", nil, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); r.status != 200 {
		t.Errorf("cross-origin GET: %d", r.status)
	}
	// the UI's own request
	r := call(t, "POST", path, body, "Content-Type", "application/json", "X-Forwarded-User", "alice",
		"Origin", a.url, "Sec-Fetch-Site", "same-origin")
	if r.status != 200 || !paused() {
		t.Fatalf("same-origin POST: %d %s, paused %v", r.status, r.body, paused())
	}
	// a script without browser headers
	r = call(t, "POST", path, `{"action":"unpause"}`, "X-Forwarded-User", "alice")
	if r.status != 200 || paused() {
		t.Fatalf("non-browser POST: %d %s, paused %v", r.status, r.body, paused())
	}
}

// TestTombstoneOnlyReportedNodes: DELETE /api/nodes/<addr> for an address
// the cluster did not report is 404 and sends nothing anywhere, neither to
// that address nor to the lookupds.
func TestTombstoneOnlyReportedNodes(t *testing.T) {
	c := newFakeCluster(t)
	var hits atomic.Int64
	victim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer victim.Close()
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o) })
	target := strings.TrimPrefix(victim.URL, "http://")
	r := call(t, "DELETE", a.url+"/api/nodes/"+target, map[string]string{"topic": "orders"})
	if r.status != http.StatusNotFound || r.message() != "NODE_NOT_FOUND" {
		t.Errorf("tombstone of an unreported node: %d %s", r.status, r.body)
	}
	if hits.Load() != 0 {
		t.Errorf("nsqadmin sent %d requests to an address the cluster never reported", hits.Load())
	}
	for _, l := range c.lookupd.callLog() {
		if strings.Contains(l, "tombstone") {
			t.Errorf("lookupd asked to tombstone an unreported node: %s", l)
		}
	}
}
