package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
	"github.com/dropin/nsq/internal/version"
)

// mode is how a message picks its address(es).
type mode int

const (
	modeHostPool mode = iota
	modeEpsilonGreedy
	modeRoundRobin
	// modeAll sends every message to every address in order. NSQ selects
	// it silently for any unknown --mode value; we keep that, since the
	// fan-out works and scripts may rely on it.
	modeAll
)

func parseMode(s string) mode {
	switch s {
	case "hostpool":
		return modeHostPool
	case "epsilon-greedy":
		return modeEpsilonGreedy
	case "round-robin":
		return modeRoundRobin
	}
	return modeAll
}

// publisher is the nsq.Handler that turns each message into HTTP
// requests. Safe for concurrent use by the -n handler goroutines.
type publisher struct {
	client      *http.Client
	method      string // GET or POST
	addrs       []string
	contentType string
	headers     []header
	mode        mode
	sample      float64

	rr        clientapp.RoundRobin
	pool      *clientapp.HostPool // hostpool and epsilon-greedy modes
	aggregate *clientapp.TimerMetrics
	perAddr   []*clientapp.TimerMetrics // only with 2 or more addresses
}

func newPublisher(o *options, logger *log.Logger) *publisher {
	p := &publisher{
		client:      newHTTPClient(o.connectTimeout, o.requestTimeout),
		method:      http.MethodPost,
		addrs:       o.postAddrs,
		contentType: o.contentType,
		headers:     o.headers,
		mode:        parseMode(o.mode),
		sample:      o.sample,
		aggregate:   clientapp.NewTimerMetrics(o.statusEvery, "[aggregate]:", logger),
	}
	if len(o.getAddrs) > 0 {
		p.method, p.addrs = http.MethodGet, o.getAddrs
	}
	switch p.mode {
	case modeHostPool, modeEpsilonGreedy:
		p.pool = clientapp.NewHostPool(len(p.addrs), p.mode == modeEpsilonGreedy)
	}
	if len(p.addrs) >= 2 {
		for _, a := range p.addrs {
			p.perAddr = append(p.perAddr, clientapp.NewTimerMetrics(o.statusEvery, "["+a+"]:", logger))
		}
	}
	return p
}

// newHTTPClient keeps up to 100 idle keep-alive connections; the request
// timeout bounds both the wait for response headers and the whole request.
func newHTTPClient(connectTimeout, requestTimeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ResponseHeaderTimeout: requestTimeout,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   100,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

// HandleMessage implements nsq.Handler: nil FINishes the message, an
// error REQueues it with backoff.
func (p *publisher) HandleMessage(m *nsq.Message) error {
	// Sampled-out messages are FINished without being sent.
	if p.sample < 1.0 && rand.Float64() > p.sample {
		return nil
	}
	start := time.Now()
	switch p.mode {
	case modeAll:
		for i := range p.addrs {
			if err := p.send(i, m.Body); err != nil {
				return err
			}
		}
	case modeRoundRobin:
		if err := p.send(p.rr.Next(len(p.addrs)), m.Body); err != nil {
			return err
		}
	default:
		i := p.pool.Get()
		sent := time.Now()
		err := p.send(i, m.Body)
		p.pool.Mark(i, err, time.Since(sent))
		if err != nil {
			return err
		}
	}
	p.aggregate.Status(start)
	return nil
}

// send makes one request for body to address i.
func (p *publisher) send(i int, body []byte) error {
	start := time.Now()
	req, err := p.request(p.addrs[i], body)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	// Drain the body so the connection can be reused.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	ok := resp.StatusCode == http.StatusOK
	if p.method == http.MethodPost {
		ok = resp.StatusCode >= 200 && resp.StatusCode < 300
	}
	if !ok {
		return fmt.Errorf("got status code %d from %s", resp.StatusCode, req.URL.Redacted())
	}
	if p.perAddr != nil {
		p.perAddr[i].Status(start)
	}
	return nil
}

// request builds the request for body to addr. For GET the body replaces
// the single "%s" of addr, query-escaped. NSQ runs the address through
// printf, which also mangles any other '%' in it (such as an escape like
// %20); we replace only the "%s" (a deliberate fix).
func (p *publisher) request(addr string, body []byte) (*http.Request, error) {
	var req *http.Request
	var err error
	if p.method == http.MethodGet {
		target := strings.Replace(addr, "%s", url.QueryEscape(string(body)), 1)
		req, err = http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	} else {
		req, err = http.NewRequestWithContext(context.Background(), http.MethodPost, addr, bytes.NewReader(body))
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", fmt.Sprintf("%s v%s", appName, version.Binary))
	if p.method == http.MethodPost {
		req.Header.Set("Content-Type", p.contentType)
	}
	for _, h := range p.headers {
		req.Header.Set(h.key, h.value)
	}
	return req, nil
}
