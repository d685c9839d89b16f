package nsqd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
)

// authorization is one entry an auth server grants.
type authorization struct {
	Topic       string   `json:"topic"`
	Channels    []string `json:"channels"`
	Permissions []string `json:"permissions"`

	topicRe    *regexp.Regexp
	channelRes []*regexp.Regexp
}

// authState is what an auth server answered for a connection's secret.
type authState struct {
	TTL            int             `json:"ttl"`
	Identity       string          `json:"identity"`
	IdentityURL    string          `json:"identity_url"`
	Authorizations []authorization `json:"authorizations"`

	secret  string
	expires time.Time
}

func (s *authState) expired() bool { return time.Now().After(s.expires) }

// allows reports whether some entry grants permission on topic and
// channel. Regexps are unanchored searches, as in NSQ; publishes check
// the channel "" so a publish grant needs a channel pattern matching "".
func (s *authState) allows(permission, topic, channel string) bool {
	for _, a := range s.Authorizations {
		if !a.topicRe.MatchString(topic) || !hasString(a.Permissions, permission) {
			continue
		}
		for _, re := range a.channelRes {
			if re.MatchString(channel) {
				return true
			}
		}
	}
	return false
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// authClient asks the --auth-http-address servers about secrets.
type authClient struct {
	addrs  []string // full URLs
	method string   // "get" or "post"
	http   *httpapi.Client
}

func newAuthClient(addrs []string, method string, http *httpapi.Client) *authClient {
	urls := make([]string, len(addrs))
	for i, a := range addrs {
		if strings.Contains(a, "://") {
			urls[i] = a
		} else {
			urls[i] = "http://" + a + "/auth"
		}
	}
	return &authClient{addrs: urls, method: method, http: http}
}

// query asks the auth servers, starting at a random one, until one
// answers with a valid reply.
func (a *authClient) query(c *client, secret string) (*authState, error) {
	c.mu.Lock()
	tlsState := c.tlsState
	c.mu.Unlock()
	return a.queryFrom(c.remoteAddr, tlsState, secret)
}

// queryFrom asks for the authorizations of secret presented from
// remoteAddr over a connection with tlsState (nil without TLS).
func (a *authClient) queryFrom(remoteAddr string, tlsState *tls.ConnectionState, secret string) (*authState, error) {
	remoteIP, _, _ := net.SplitHostPort(remoteAddr)
	commonName := ""
	tlsOn := false
	if tlsState != nil {
		tlsOn = true
		if len(tlsState.PeerCertificates) > 0 {
			commonName = tlsState.PeerCertificates[0].Subject.CommonName
		}
	}
	v := url.Values{}
	v.Set("common_name", commonName)
	v.Set("remote_ip", remoteIP)
	v.Set("secret", secret)
	v.Set("tls", fmt.Sprint(tlsOn))

	var errs []error
	start := rand.IntN(len(a.addrs))
	for i := range a.addrs {
		addr := a.addrs[(start+i)%len(a.addrs)]
		state, err := a.ask(addr, v)
		if err == nil {
			state.secret = secret
			return state, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return nil, errors.Join(errs...)
}

func (a *authClient) ask(addr string, v url.Values) (*authState, error) {
	ctx := context.Background()
	var state authState
	var err error
	if a.method == "post" {
		body, _ := json.Marshal(v) // {"key":["value"]}, as NSQ sends
		err = a.http.Do(ctx, "POST", addr, body, &state)
	} else {
		sep := "?"
		if strings.Contains(addr, "?") {
			sep = "&"
		}
		err = a.http.GETV1(ctx, addr+sep+v.Encode(), &state)
	}
	if err != nil {
		return nil, err
	}
	if state.TTL <= 0 {
		return nil, fmt.Errorf("invalid TTL %d (must be > 0)", state.TTL)
	}
	for i := range state.Authorizations {
		au := &state.Authorizations[i]
		for _, p := range au.Permissions {
			if p != "subscribe" && p != "publish" {
				return nil, fmt.Errorf("unknown permission %q", p)
			}
		}
		if au.topicRe, err = regexp.Compile(au.Topic); err != nil {
			return nil, fmt.Errorf("bad topic pattern %q: %w", au.Topic, err)
		}
		for _, ch := range au.Channels {
			re, err := regexp.Compile(ch)
			if err != nil {
				return nil, fmt.Errorf("bad channel pattern %q: %w", ch, err)
			}
			au.channelRes = append(au.channelRes, re)
		}
	}
	// a TTL too long for a Duration would wrap negative: cap it
	const maxTTL = 100 * 365 * 24 * time.Hour
	ttl := maxTTL
	if int64(state.TTL) < int64(maxTTL/time.Second) {
		ttl = time.Duration(state.TTL) * time.Second
	}
	state.expires = time.Now().Add(ttl)
	return &state, nil
}

func (n *NSQD) authEnabled() bool { return n.auth != nil }

// checkAuth enforces the connection's authorizations for PUB, MPUB, DPUB
// (channel "") and SUB, re-asking the auth server once they expire.
func (n *NSQD) checkAuth(c *client, cmd, topic, channel string) error {
	if !n.authEnabled() {
		return nil
	}
	c.mu.Lock()
	state := c.auth
	c.mu.Unlock()
	if state == nil {
		return protocol.NewFatal(protocol.ErrAuthFirst, "AUTH required before "+cmd)
	}
	if state.expired() {
		fresh, err := n.auth.query(c, state.secret)
		if err != nil {
			n.logV2(c, lg.WARN, "AUTH refresh failed: %s", err)
			return protocol.NewFatal(protocol.ErrAuthFailed, "AUTH failed")
		}
		c.mu.Lock()
		c.auth = fresh
		c.mu.Unlock()
		state = fresh
	}
	permission := "publish"
	if cmd == "SUB" {
		permission = "subscribe"
	}
	if !state.allows(permission, topic, channel) {
		return protocol.NewFatal(protocol.ErrUnauthorized, fmt.Sprintf("AUTH failed for %s on %q %q", cmd, topic, channel))
	}
	return nil
}
