package nsqadmin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// fakeGraphite answers /render with a fixed JSON series or PNG and
// records what it was asked.
type fakeGraphite struct {
	srv *httptest.Server

	mu    sync.Mutex // guards the fields below
	reply string     // JSON body for format=json
	code  int
	reqs  []*http.Request
}

var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func newFakeGraphite(tb testing.TB) *fakeGraphite {
	g := &fakeGraphite{code: 200}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.reqs = append(g.reqs, r.Clone(r.Context()))
		reply, code := g.reply, g.code
		g.mu.Unlock()
		if r.URL.Query().Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			w.Write([]byte(reply))
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(tinyPNG)
	}))
	tb.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGraphite) last() *http.Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.reqs) == 0 {
		return nil
	}
	return g.reqs[len(g.reqs)-1]
}

func TestGraphiteRate(t *testing.T) {
	c := newFakeCluster(t)
	g := newFakeGraphite(t)
	u, _ := url.Parse(g.srv.URL)
	u.User = url.UserPassword("gu", "gp")
	u.Path = "/g"
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.GraphiteURL = u.String(); o.StatsdInterval = 60 * time.Second })
	for _, tc := range []struct {
		name, query, reply string
		code               int
		status             int
		body               string
	}{
		{"rate", "metric=rate&target=foo.bar", `[{"target":"foo.bar","datapoints":[[120,1700000000],[60,1700000060]]}]`, 200, 200, `{"rate":"2.00"}`},
		{"null value", "metric=rate&target=x", `[{"target":"x","datapoints":[[null,1700000000]]}]`, 200, 200, `{"rate":"N/A"}`},
		{"negative", "metric=rate&target=x", `[{"target":"x","datapoints":[[-1,1700000000]]}]`, 200, 200, `{"rate":"N/A"}`},
		{"no series", "metric=rate&target=x", `[]`, 200, 200, `{"rate":"N/A"}`},
		{"graphite error", "metric=rate&target=x", `oops`, 500, 500, `{"message":"INTERNAL_ERROR"}`},
		{"graphite garbage", "metric=rate&target=x", `<html>`, 200, 500, `{"message":"INTERNAL_ERROR"}`},
		{"bad metric", "metric=depth&target=x", ``, 200, 400, `{"message":"INVALID_ARG_METRIC"}`},
		{"no target", "metric=rate", ``, 200, 400, `{"message":"INVALID_ARG_TARGET"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g.mu.Lock()
			g.reply, g.code = tc.reply, tc.code
			g.mu.Unlock()
			r := call(t, "GET", a.url+"/api/graphite?"+tc.query, nil)
			if r.status != tc.status || string(r.body) != tc.body {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.body)
			}
		})
	}
	req := g.last()
	if req == nil {
		t.Fatal("graphite never asked")
	}
	q := req.URL.Query()
	if req.URL.Path != "/g/render" || q.Get("from") != "-120sec" || q.Get("until") != "-60sec" || q.Get("format") != "json" || q.Get("target") != "x" {
		t.Errorf("graphite request = %s", req.URL)
	}
	if user, pass, ok := req.BasicAuth(); !ok || user != "gu" || pass != "gp" {
		t.Errorf("basic auth = %q %q %v", user, pass, ok)
	}
}

func TestGraphiteProxy(t *testing.T) {
	c := newFakeCluster(t)
	g := newFakeGraphite(t)
	u, _ := url.Parse(g.srv.URL)
	u.User = url.UserPassword("gu", "gp")
	a := startAdmin(t, func(o *Options) {
		c.lookupdMode(o)
		o.GraphiteURL = u.String()
		o.ProxyGraphite = true
		o.BasePath = "/admin"
	})
	r := call(t, "GET", a.url+"/render?target=sumSeries(a.b)&width=120", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "image/png" || string(r.body) != string(tinyPNG) {
		t.Fatalf("proxy: %d %q %d bytes", r.status, r.header.Get("Content-Type"), len(r.body))
	}
	req := g.last()
	if req.URL.Path != "/render" || req.URL.Query().Get("target") != "sumSeries(a.b)" || req.URL.Query().Get("width") != "120" {
		t.Errorf("proxied request = %s", req.URL)
	}
	if user, _, ok := req.BasicAuth(); !ok || user != "gu" {
		t.Errorf("proxied basic auth missing")
	}

	noProxy := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.GraphiteURL = u.String() })
	if r := call(t, "GET", noProxy.url+"/render?target=x", nil); r.status != 404 {
		t.Errorf("/render without --proxy-graphite: %d", r.status)
	}
	g.srv.Close()
	if r := call(t, "GET", a.url+"/render?target=x", nil); r.status != 502 {
		t.Errorf("graphite down: %d %s", r.status, r.body)
	}
}
