package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
)

func TestRouterV1(t *testing.T) {
	r := NewRouter(func(string, ...any) {})
	r.POST("/ok", Decorate(func(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) { return "OK", nil }, V1))
	r.GET("/obj", Decorate(func(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
		return map[string]int{"a": 1}, nil
	}, V1))
	r.GET("/none", Decorate(func(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) { return nil, nil }, V1))
	r.GET("/err", Decorate(func(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
		return nil, Err{400, "BAD"}
	}, V1))
	r.GET("/panic", Decorate(func(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) { panic("x") }, V1))
	srv := httptest.NewServer(r)
	defer srv.Close()

	cases := []struct {
		method, path string
		status       int
		body, ctype  string
		allow        string
	}{
		{"POST", "/ok", 200, "OK", "text/plain; charset=utf-8", ""},
		{"GET", "/obj", 200, `{"a":1}`, "application/json; charset=utf-8", ""},
		{"GET", "/none", 200, "", "", ""},
		{"GET", "/err", 400, `{"message":"BAD"}`, "application/json; charset=utf-8", ""},
		{"GET", "/panic", 500, `{"message":"INTERNAL_ERROR"}`, "application/json; charset=utf-8", ""},
		{"GET", "/nope", 404, `{"message":"NOT_FOUND"}`, "application/json; charset=utf-8", ""},
		{"GET", "/ok", 405, `{"message":"METHOD_NOT_ALLOWED"}`, "application/json; charset=utf-8", "OPTIONS, POST"},
		{"OPTIONS", "/ok", 200, "", "", "OPTIONS, POST"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(body) != c.body || resp.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s %s: %d %q %q; want %d %q %q", c.method, c.path, resp.StatusCode, body,
				resp.Header.Get("Content-Type"), c.status, c.body, c.ctype)
		}
		if c.method != "OPTIONS" && c.path != "/nope" && c.status != 405 && resp.Header.Get("X-NSQ-Content-Type") != "nsq; version=1.0" {
			t.Errorf("%s: missing X-NSQ-Content-Type", c.path)
		}
		if c.allow != "" && resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, resp.Header.Get("Allow"), c.allow)
		}
	}
}

func TestClientTLSRetry(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RespondV1(w, 200, map[string]string{"via": "tls"})
	}))
	defer tlsSrv.Close()
	_, tlsPort, _ := splitHostPort(tlsSrv.Listener.Addr().String())
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			w.Write([]byte(`{"via":"plain"}`))
			return
		}
		w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
		w.WriteHeader(403)
		w.Write([]byte(`{"message": "TLS_REQUIRED", "https_port": ` + tlsPort + `}`))
	}))
	defer plain.Close()

	c := NewClient(tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig, time.Second, 5*time.Second)
	var v struct{ Via string }
	if err := c.GETV1(context.Background(), plain.URL+"/x", &v); err != nil || v.Via != "tls" {
		t.Fatalf("tls retry: %v %+v", err, v)
	}
	if err := c.GETV1(context.Background(), plain.URL+"/plain", &v); err != nil || v.Via != "plain" {
		t.Fatalf("plain JSON: %v %+v", err, v)
	}
}

func splitHostPort(a string) (string, string, error) {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == ':' {
			return a[:i], a[i+1:], nil
		}
	}
	return a, "", nil
}
