package nsqadmin

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConfigGet(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.AdminUsers = []string{"bob"} })
	for _, tc := range []struct {
		opt    string
		status int
		body   string
	}{
		{"nsqlookupd_http_addresses", 200, `["` + c.lookupd.addr() + `"]`},
		{"nsqd_http_addresses", 200, `[]`},
		{"log_level", 200, `2`},
		{"statsd_interval", 200, `60000000000`},
		{"admin_users", 200, `["bob"]`},
		// strings come back as text, as NSQ's V1 responder sends them
		{"acl_http_header", 200, `X-Forwarded-User`},
		{"allow_config_from_cidr", 200, `127.0.0.1/8`},
		{"http_client_tls_insecure_skip_verify", 200, `false`},
		{"lookupd_http_address", 400, `{"message":"INVALID_OPTION"}`},
		{"nope", 400, `{"message":"INVALID_OPTION"}`},
	} {
		r := call(t, "GET", a.url+"/config/"+tc.opt, nil)
		if r.status != tc.status || string(r.body) != tc.body {
			t.Errorf("GET /config/%s: %d %s, want %d %s", tc.opt, r.status, r.body, tc.status, tc.body)
		}
	}
}

func TestConfigPut(t *testing.T) {
	c := newFakeCluster(t)
	other := newFakeLookupd(t) // knows no topic
	a := startAdmin(t, c.lookupdMode)
	for _, tc := range []struct {
		opt, body string
		status    int
		reply     string
	}{
		{"log_level", "debug", 200, `1`},
		{"log_level", "WARN\n", 200, `3`},
		{"log_level", "loud", 400, `{"message":"INVALID_VALUE"}`},
		{"log_level", "", 413, `{"message":"INVALID_VALUE"}`},
		{"log_level", strings.Repeat("x", maxConfigValueSize+1), 413, `{"message":"INVALID_VALUE"}`},
		{"nsqlookupd_http_addresses", `not json`, 400, `{"message":"INVALID_VALUE"}`},
		{"nsqlookupd_http_addresses", `["no-port"]`, 400, `{"message":"INVALID_VALUE"}`},
		{"nsqlookupd_http_addresses", `[]`, 400, `{"message":"INVALID_VALUE"}`},
		{"http_address", `"127.0.0.1:1"`, 400, `{"message":"INVALID_OPTION"}`},
		{"nsqlookupd_http_addresses", `["` + other.addr() + `"]`, 200, `["` + other.addr() + `"]`},
	} {
		r := call(t, "PUT", a.url+"/config/"+tc.opt, tc.body)
		if r.status != tc.status || string(r.body) != tc.reply {
			t.Errorf("PUT /config/%s %.20q: %d %.80s, want %d %s", tc.opt, tc.body, r.status, r.body, tc.status, tc.reply)
		}
	}
	if r := call(t, "GET", a.url+"/config/log_level", nil); string(r.body) != "3" {
		t.Errorf("log_level after PUT = %s", r.body)
	}
	// the new lookupd is the one asked from now on
	if r := getOK(t, a.url+"/api/topics"); len(list(r["topics"])) != 0 {
		t.Errorf("topics from the new lookupd = %v", r["topics"])
	}
	if len(other.callLog()) == 0 {
		t.Error("the new lookupd was not asked")
	}
}

func TestConfigCIDR(t *testing.T) {
	c := newFakeCluster(t)
	for _, tc := range []struct {
		cidr   string
		status int
	}{{"10.0.0.0/8", 403}, {"", 200}, {"127.0.0.0/24", 200}} {
		a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.AllowConfigFromCIDR = tc.cidr })
		for _, method := range []string{"GET", "PUT"} {
			r := call(t, method, a.url+"/config/log_level", "info")
			if r.status != tc.status {
				t.Errorf("cidr %q %s: %d %s, want %d", tc.cidr, method, r.status, r.body, tc.status)
			}
			if tc.status == 403 && string(r.body) != `{"message":"FORBIDDEN"}` {
				t.Errorf("body = %s", r.body)
			}
		}
	}
	a := startAdmin(t, c.lookupdMode)
	req := httptest.NewRequest("GET", "/config/log_level", nil)
	req.RemoteAddr = "not-an-address"
	w := httptest.NewRecorder()
	a.handler().ServeHTTP(w, req)
	if w.Code != 400 || w.Body.String() != `{"message":"INVALID_REMOTE_ADDR"}` {
		t.Errorf("bad remote address: %d %s", w.Code, w.Body)
	}
}
