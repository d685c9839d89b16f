package httpmetrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dropin/nsq/internal/testutil"
)

func TestRequestsByRoute(t *testing.T) {
	r := New("x_http")
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collectors()...)
	h := r.Wrap(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/missing" {
			http.NotFound(w, req)
			return
		}
		w.Write([]byte("ok"))
	}), func(req *http.Request) string {
		if strings.HasPrefix(req.URL.Path, "/a/") {
			return "/a/:id"
		}
		return Other
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []string{"/a/1", "/a/2", "/missing"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	msrv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer msrv.Close()
	m := testutil.ScrapeMetrics(t, msrv.URL)
	if v, _ := m.Value("x_http_requests_total", "route", "/a/:id", "method", "GET", "code", "200"); v != 2 {
		t.Errorf("/a/:id 200: %v", v)
	}
	if v, _ := m.Value("x_http_requests_total", "route", "other", "code", "404"); v != 1 {
		t.Errorf("other 404: %v", v)
	}
	if v, _ := m.Value("x_http_request_duration_seconds", "route", "/a/:id"); v != 2 {
		t.Errorf("histogram count: %v", v)
	}
}
