package nsqadmin

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRoutesUnderBasePath(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.BasePath = "admin/" })
	root := strings.TrimSuffix(a.url, "/admin")
	if !strings.HasSuffix(a.url, "/admin") {
		t.Fatalf("base path not normalised: %s", a.url)
	}
	for _, page := range []string{"", "/", "/topics", "/topics/orders", "/topics/orders/billing", "/nodes",
		"/nodes/" + c.a.addr(), "/counter", "/lookup"} {
		r := call(t, "GET", a.url+page, nil)
		if page == "/" { // redirected to /admin by the router
			continue
		}
		if r.status != 200 || r.header.Get("Content-Type") != "text/html" {
			t.Errorf("GET %s: %d %s", page, r.status, r.header.Get("Content-Type"))
			continue
		}
		body := string(r.body)
		for _, want := range []string{`src="/admin/static/app.js"`, `href="/admin/static/style.css"`, `var BASE_PATH = "/admin";`} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: shell lacks %s", page, want)
			}
		}
	}
	for _, tc := range []struct {
		method, url string
		status      int
		ctype, body string
	}{
		// call's client asks for gzip: as with NSQ, the plain-text replies
		// then carry no Content-Type (TestPlainTextContentType)
		{"GET", a.url + "/ping", 200, "", "OK"},
		{"GET", a.url + "/static/nope.js", 404, "", "NOT_FOUND"},
		{"GET", a.url + "/static/.hidden", 404, "", "NOT_FOUND"},
		{"GET", a.url + "/fonts/glyphicons.woff", 404, "", "NOT_FOUND"},
		{"GET", a.url + "/api/nope", 404, "application/json; charset=utf-8", `{"message":"NOT_FOUND"}`},
		{"PATCH", a.url + "/api/topics", 405, "application/json; charset=utf-8", `{"message":"METHOD_NOT_ALLOWED"}`},
		{"GET", root + "/api/topics", 404, "application/json; charset=utf-8", `{"message":"NOT_FOUND"}`},
		{"GET", root + "/ping", 404, "application/json; charset=utf-8", `{"message":"NOT_FOUND"}`},
	} {
		r := call(t, tc.method, tc.url, nil)
		if r.status != tc.status || r.header.Get("Content-Type") != tc.ctype || string(r.body) != tc.body {
			t.Errorf("%s %s: %d %q %q, want %d %q %q", tc.method, tc.url, r.status, r.header.Get("Content-Type"), r.body,
				tc.status, tc.ctype, tc.body)
		}
	}
	if r := call(t, "GET", a.url+"/api/topics", nil); r.status != 200 || r.header.Get("X-NSQ-Content-Type") != "nsq; version=1.0" {
		t.Errorf("api under base path: %d %v", r.status, r.header)
	}
}

// The HTML shell and the assets carry NSQ's headers and no others (no
// charset on the shell, no caching or range headers).
func TestPageAndAssetHeaders(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	for _, tc := range []struct{ path, ctype string }{
		{"/", "text/html"},
		{"/topics/orders", "text/html"},
		{"/static/app.js", "text/javascript; charset=utf-8"},
		{"/static/style.css", "text/css; charset=utf-8"},
		{"/static/favicon.svg", "image/svg+xml"},
	} {
		r := call(t, "GET", a.url+tc.path, nil)
		if r.status != 200 || r.header.Get("Content-Type") != tc.ctype {
			t.Errorf("GET %s: %d %q, want 200 %q", tc.path, r.status, r.header.Get("Content-Type"), tc.ctype)
		}
		for _, h := range []string{"Cache-Control", "Accept-Ranges", "Last-Modified", "X-Nsq-Content-Type"} {
			if v := r.header.Get(h); v != "" {
				t.Errorf("GET %s: unexpected %s: %q", tc.path, h, v)
			}
		}
	}
}

// Every module the UI imports, and every asset the shell names, is served
// with the right type, so the page cannot fail on a missing file.
func TestStaticAssetsComplete(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	shell := string(call(t, "GET", a.url+"/", nil).body)
	refs := regexp.MustCompile(`(?:src|href)="/static/([^"]+)"`).FindAllStringSubmatch(shell, -1)
	todo := []string{}
	for _, m := range refs {
		todo = append(todo, m[1])
	}
	if len(todo) < 3 {
		t.Fatalf("shell references %v", todo)
	}
	imports := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*from\s+'\./([^']+)'|^import\s+'\./([^']+)'`)
	seen := map[string]bool{}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		r := call(t, "GET", a.url+"/static/"+name, nil)
		ext := name[strings.LastIndex(name, "."):]
		if r.status != 200 || r.header.Get("Content-Type") != types[ext] {
			t.Errorf("static/%s: %d %q", name, r.status, r.header.Get("Content-Type"))
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(r.body), -1) {
			todo = append(todo, m[1]+m[2])
		}
	}
	for _, want := range []string{"app.js", "page-topics.js", "page-channel.js", "chart.js", "style.css"} {
		if !seen[want] {
			t.Errorf("%s not reached from the shell (seen %v)", want, seen)
		}
	}
}

func TestShellGlobals(t *testing.T) {
	c := newFakeCluster(t)
	for _, tc := range []struct {
		name   string
		setup  func(o *Options)
		header []string
		want   []string
	}{
		{"defaults", c.lookupdMode, nil, []string{
			`var VERSION = "1.3.0";`, `var USER_AGENT = "nsqadmin/v1.3.0";`, `var GRAPHITE_URL = "";`,
			`var GRAPH_ENABLED = false;`, `var STATSD_COUNTER_FORMAT = "stats.counters.%s.count";`,
			`var STATSD_GAUGE_FORMAT = "stats.gauges.%s";`, `var STATSD_INTERVAL =  60 ;`, `var STATSD_PREFIX = "nsq.%s";`,
			`var NSQLOOKUPD = [` + jsonString(c.lookupd.addr()) + `];`, `var IS_ADMIN =  true ;`, `var BASE_PATH = "/";`}},
		{"graphite", func(o *Options) {
			c.nsqdMode(o)
			o.GraphiteURL = "http://graphite.example:8080/"
			o.StatsdInterval = 10e9
		}, nil, []string{`var GRAPHITE_URL = "http://graphite.example:8080";`, `var GRAPH_ENABLED =  true ;`,
			`var STATSD_INTERVAL =  10 ;`, `var NSQLOOKUPD = [];`}},
		{"proxied graphite", func(o *Options) { c.nsqdMode(o); o.GraphiteURL = "http://g.example"; o.ProxyGraphite = true },
			nil, []string{`var GRAPHITE_URL = "";`, `var GRAPH_ENABLED =  true ;`}},
		{"not admin", func(o *Options) { c.lookupdMode(o); o.AdminUsers = []string{"bob"} }, nil, []string{`var IS_ADMIN =  false ;`}},
		{"admin", func(o *Options) { c.lookupdMode(o); o.AdminUsers = []string{"bob"} },
			[]string{"X-Forwarded-User", "bob"}, []string{`var IS_ADMIN =  true ;`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAdmin(t, tc.setup)
			body := strings.ReplaceAll(string(call(t, "GET", a.url+"/topics", nil, tc.header...).body), " ", "")
			for _, w := range tc.want {
				if !strings.Contains(body, strings.ReplaceAll(w, " ", "")) {
					t.Errorf("shell lacks %s", w)
				}
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestCompression(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	for _, tc := range []struct {
		accept, encoding string
		read             func(io.Reader) (io.Reader, error)
	}{
		{"gzip, deflate", "gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
		{"deflate", "deflate", func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }},
		{"br", "", func(r io.Reader) (io.Reader, error) { return r, nil }},
		{"gzip;q=0, deflate", "deflate", func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }},
		// NSQ's order: the first of gzip and deflate named, parameters or not
		{"deflate, gzip", "deflate", func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }},
		{"gzip;q=1.0, deflate", "deflate", func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }},
		{"GZIP", "", func(r io.Reader) (io.Reader, error) { return r, nil }},
	} {
		for _, path := range []string{"/api/topics", "/static/app.js", "/"} {
			r := call(t, "GET", a.url+path, nil, "Accept-Encoding", tc.accept)
			if r.status != 200 || r.header.Get("Content-Encoding") != tc.encoding {
				t.Errorf("%s with %q: %d Content-Encoding %q", path, tc.accept, r.status, r.header.Get("Content-Encoding"))
				continue
			}
			if tc.encoding != "" && r.header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s: Vary = %q", path, r.header.Get("Vary"))
			}
			rd, err := tc.read(bytes.NewReader(r.body))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			plain, err := io.ReadAll(rd)
			if err != nil || len(plain) == 0 {
				t.Errorf("%s %s: cannot decode body: %v", path, tc.accept, err)
			}
			if path == "/api/topics" && !json.Valid(plain) {
				t.Errorf("decoded body is not JSON: %q", plain)
			}
		}
	}
}

// Like NSQ's, the plain-text replies (/ping, a missing asset) set no
// Content-Type: uncompressed it is sniffed as text/plain, compressed it
// is absent; an empty compressed reply (OPTIONS) is still encoded.
func TestPlainTextContentType(t *testing.T) {
	c := newFakeCluster(t)
	a := startAdmin(t, c.lookupdMode)
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	for _, tc := range []struct {
		method, path, accept, ctype, encoding string
	}{
		{"GET", "/ping", "", "text/plain; charset=utf-8", ""},
		{"GET", "/ping", "gzip", "", "gzip"},
		{"GET", "/static/nope.js", "", "text/plain; charset=utf-8", ""},
		{"GET", "/static/nope.js", "deflate", "", "deflate"},
		{"GET", "/api/nope", "gzip", "application/json; charset=utf-8", "gzip"},
		{"OPTIONS", "/api/topics", "gzip", "", "gzip"},
		{"OPTIONS", "/api/topics", "", "", ""},
	} {
		req, _ := http.NewRequest(tc.method, a.url+tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept-Encoding", tc.accept)
		}
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct, ce := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"); ct != tc.ctype || ce != tc.encoding {
			t.Errorf("%s %s (Accept-Encoding %q): Content-Type %q Content-Encoding %q, want %q %q",
				tc.method, tc.path, tc.accept, ct, ce, tc.ctype, tc.encoding)
		}
		if tc.encoding == "gzip" && tc.method == "OPTIONS" {
			if zr, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
				t.Errorf("OPTIONS body is not gzip: %v %q", err, body)
			} else if rest, _ := io.ReadAll(zr); len(rest) != 0 {
				t.Errorf("OPTIONS body = %q", rest)
			}
		}
	}
}

func TestDevStaticDir(t *testing.T) {
	c := newFakeCluster(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.js"), []byte("console.log('dev build');"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.DevStaticDir = dir })
	r := call(t, "GET", a.url+"/static/app.js", nil)
	if r.status != 200 || string(r.body) != "console.log('dev build');" {
		t.Errorf("dev asset: %d %q", r.status, r.body)
	}
	if r := call(t, "GET", a.url+"/static/style.css", nil); r.status != 404 {
		t.Errorf("asset missing from the dev dir: %d", r.status)
	}
}
