package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Client calls other daemons' HTTP APIs the way NSQ's tools do: it asks
// for the V1 format, decodes the JSON body, and retries over HTTPS when an
// nsqd with --tls-required answers 403 with its https_port. Safe for
// concurrent use.
type Client struct {
	c *http.Client
}

// NewClient returns a Client with the given dial and whole-request
// timeouts. tlsConfig may be nil.
func NewClient(tlsConfig *tls.Config, connectTimeout, requestTimeout time.Duration) *Client {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSClientConfig:       tlsConfig,
	}
	return &Client{c: &http.Client{Transport: transport, Timeout: requestTimeout}}
}

// HTTP returns the underlying client.
func (c *Client) HTTP() *http.Client { return c.c }

// GETV1 fetches endpoint and decodes its JSON into v (v may be nil).
func (c *Client) GETV1(ctx context.Context, endpoint string, v any) error {
	return c.do(ctx, http.MethodGet, endpoint, nil, v, true)
}

// POSTV1 posts to endpoint with no body and decodes a JSON reply into v
// (v may be nil).
func (c *Client) POSTV1(ctx context.Context, endpoint string, v any) error {
	return c.do(ctx, http.MethodPost, endpoint, nil, v, true)
}

// Do sends body to endpoint with method and decodes a JSON reply into v.
func (c *Client) Do(ctx context.Context, method, endpoint string, body []byte, v any) error {
	return c.do(ctx, method, endpoint, body, v, true)
}

func (c *Client) do(ctx context.Context, method, endpoint string, body []byte, v any, retryTLS bool) error {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := c.c.Do(req)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusForbidden && retryTLS {
		if next, ok := httpsRetryURL(endpoint, data); ok {
			return c.do(ctx, method, next, body, v, false)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("got response %s %q", resp.Status, data)
	}
	if v == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, v)
}

// httpsRetryURL turns a TLS_REQUIRED reply into the same URL on https.
func httpsRetryURL(endpoint string, body []byte) (string, bool) {
	var r struct {
		Message   string `json:"message"`
		HTTPSPort int    `json:"https_port"`
	}
	if json.Unmarshal(body, &r) != nil || r.Message != "TLS_REQUIRED" || r.HTTPSPort == 0 {
		return "", false
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return "", false
	}
	u.Scheme = "https"
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(r.HTTPSPort))
	return u.String(), true
}
