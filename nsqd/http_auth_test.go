package nsqd

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// httpAs sends a request with an optional bearer token.
func httpAs(t *testing.T, n *NSQD, method, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.RealHTTPAddr().String()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// TestHTTPAdminToken: with --http-admin-token the admin routes need the
// token; /pub, /stats and /ping stay open; the token is never shown.
func TestHTTPAdminToken(t *testing.T) {
	opts := testOptions(t)
	opts.HTTPAdminToken = "s3cret"
	n := startNSQD(t, opts)
	admin := []struct{ method, path string }{
		{"POST", "/topic/create?topic=t"}, {"POST", "/topic/pause?topic=t"}, {"POST", "/channel/create?topic=t&channel=c"},
		{"POST", "/channel/pause?topic=t&channel=c"}, {"GET", "/config/mem_queue_size"}, {"PUT", "/config/log_level"},
		{"GET", "/debug/pprof/"}, {"POST", "/topic/delete?topic=t"},
	}
	for _, r := range admin {
		if code, body := httpAs(t, n, r.method, r.path, "info", ""); code != 401 || !strings.Contains(body, "UNAUTHORIZED") {
			t.Errorf("%s %s without a token: %d %s", r.method, r.path, code, body)
		}
		if code, body := httpAs(t, n, r.method, r.path, "info", "wrong"); code != 403 || !strings.Contains(body, "FORBIDDEN") {
			t.Errorf("%s %s with a wrong token: %d %s", r.method, r.path, code, body)
		}
		if code, body := httpAs(t, n, r.method, r.path, "info", "s3cret"); code != 200 {
			t.Errorf("%s %s with the token: %d %s", r.method, r.path, code, body)
		}
	}
	for _, p := range []string{"/pub?topic=t", "/mpub?topic=t"} {
		if code, body := httpAs(t, n, "POST", p, "m", ""); code != 200 {
			t.Errorf("POST %s without a token: %d %s", p, code, body)
		}
	}
	for _, p := range []string{"/ping", "/stats", "/info"} {
		if code, _ := httpAs(t, n, "GET", p, "", ""); code != 200 {
			t.Errorf("GET %s without a token: %d", p, code)
		}
	}
	if _, body := httpAs(t, n, "GET", "/config/http_admin_token", "", "s3cret"); strings.Contains(body, "s3cret") {
		t.Errorf("/config shows the token: %s", body)
	}
}

// TestHTTPAuthRequired: with --http-auth-required, /pub and /mpub need a
// secret the auth server grants publish on the topic (or the admin token).
func TestHTTPAuthRequired(t *testing.T) {
	a := newAuthServer(t, map[string]string{
		"pub":  `{"ttl":3600,"identity":"alice","authorizations":[{"topic":"^ok$","channels":[".*"],"permissions":["publish"]}]}`,
		"sub":  `{"ttl":3600,"identity":"bob","authorizations":[{"topic":"ok","channels":[".*"],"permissions":["subscribe"]}]}`,
		"none": `{"ttl":3600,"identity":"nobody","authorizations":[]}`,
	})
	opts := testOptions(t)
	opts.AuthHTTPAddresses = []string{a.srv.Listener.Addr().String()}
	opts.HTTPAuthRequired = true
	opts.HTTPAdminToken = "adm"
	n := startNSQD(t, opts)
	cases := []struct {
		path, token string
		code        int
		want        string
	}{
		{"/pub?topic=ok", "", 401, "AUTH_REQUIRED"},
		{"/pub?topic=ok", "nope", 403, "AUTH_FAILED"},
		{"/pub?topic=ok", "sub", 403, "AUTH_UNAUTHORIZED"},
		{"/pub?topic=ok", "none", 403, "AUTH_UNAUTHORIZED"},
		{"/pub?topic=other", "pub", 403, "AUTH_UNAUTHORIZED"},
		{"/pub?topic=ok", "pub", 200, "OK"},
		{"/mpub?topic=ok", "pub", 200, "OK"},
		{"/mpub?topic=ok", "", 401, "AUTH_REQUIRED"},
		{"/pub?topic=ok", "adm", 200, "OK"},
		{"/pub", "pub", 400, "MISSING_ARG_TOPIC"},
	}
	for _, tc := range cases {
		if code, body := httpAs(t, n, "POST", tc.path, "m", tc.token); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s as %q: %d %s, want %d %s", tc.path, tc.token, code, body, tc.code, tc.want)
		}
	}
	before := a.requests.Load()
	for i := 0; i < 5; i++ {
		httpAs(t, n, "POST", "/pub?topic=ok", "m", "pub")
	}
	if got := a.requests.Load() - before; got != 0 {
		t.Errorf("%d auth server requests for 5 publishes with a cached secret", got)
	}
	if tp := getStats(t, n, "&topic=ok").Topics; len(tp) != 1 || tp[0].MessageCount != 8 {
		t.Errorf("topic ok: %+v, want 8 messages (3 accepted, 5 more)", tp)
	}
}
