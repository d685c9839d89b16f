package nsqd

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
)

// Opt-in protection of the HTTP API, beyond NSQ (whose HTTP API is open
// to anyone who can reach it, even with AUTH on the TCP side):
// --http-admin-token guards the admin routes, --http-auth-required makes
// /pub and /mpub ask the auth server about a bearer secret, as AUTH does
// over TCP. Both default to off.

// adminPath reports whether path is an admin route.
func adminPath(path string) bool {
	for _, p := range []string{"/topic/", "/channel/", "/config/", "/debug/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func bearer(req *http.Request) (string, bool) {
	h := req.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// isAdminToken compares in constant time.
func (s *httpServer) isAdminToken(tok string) bool {
	want := s.n.opts.HTTPAdminToken
	return want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1
}

// authorize returns nil when req may proceed, or the error to answer.
func (s *httpServer) authorize(req *http.Request) *httpapi.Err {
	o := s.n.opts
	tok, hasTok := bearer(req)
	switch {
	case adminPath(req.URL.Path):
		if o.HTTPAdminToken == "" || s.isAdminToken(tok) {
			return nil
		}
		if !hasTok {
			return &httpapi.Err{Code: http.StatusUnauthorized, Text: "UNAUTHORIZED"}
		}
		return &httpapi.Err{Code: http.StatusForbidden, Text: "FORBIDDEN"}
	case req.URL.Path == "/pub" || req.URL.Path == "/mpub":
		if !o.HTTPAuthRequired || s.isAdminToken(tok) {
			return nil
		}
		if !hasTok || tok == "" {
			return &httpapi.Err{Code: http.StatusUnauthorized, Text: "AUTH_REQUIRED"}
		}
		topic := req.URL.Query().Get("topic")
		if !names.IsValidTopicName(topic) {
			return nil // the handler answers MISSING_ARG_TOPIC / INVALID_TOPIC
		}
		state, err := s.n.httpAuth.lookup(s.n, req, tok)
		if err != nil {
			s.n.log.Logf(lg.WARN, "HTTP: [%s] auth failed - %s", req.RemoteAddr, err)
			return &httpapi.Err{Code: http.StatusForbidden, Text: "AUTH_FAILED"}
		}
		if !state.allows("publish", topic, "") {
			return &httpapi.Err{Code: http.StatusForbidden, Text: "AUTH_UNAUTHORIZED"}
		}
	}
	return nil
}

// httpAuthCache remembers the auth server's answer per secret until its
// TTL ends, so a publish does not cost a round trip to the auth server.
// Safe for concurrent use.
type httpAuthCache struct {
	mu      sync.Mutex // guards entries
	entries map[string]*authState
}

const httpAuthCacheMax = 1024

func (h *httpAuthCache) lookup(n *NSQD, req *http.Request, secret string) (*authState, error) {
	h.mu.Lock()
	st := h.entries[secret]
	h.mu.Unlock()
	if st != nil && !st.expired() {
		return st, nil
	}
	st, err := n.auth.queryFrom(req.RemoteAddr, req.TLS, secret)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.entries == nil || len(h.entries) >= httpAuthCacheMax {
		h.entries = make(map[string]*authState) // bounded: start over
	}
	h.entries[secret] = st
	h.mu.Unlock()
	return st, nil
}
