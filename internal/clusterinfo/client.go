package clusterinfo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/dropin/nsq/internal/httpapi"
)

// Policy says what a query that asks several upstreams does when some of
// them fail.
type Policy int

const (
	// Partial returns what the upstreams that answered said, with a
	// *PartialError when some failed and an *AllFailedError when none
	// answered (nsqadmin: a page with a warning beats no page).
	Partial Policy = iota
	// Strict returns the first failure, in the order the addresses were
	// given, and no result (the client apps: never act on half a list).
	Strict
)

// Client asks nsqlookupd and nsqd about the cluster over their HTTP APIs.
// Every query fans out to all the upstreams it needs at once; each call is
// bounded by the httpapi.Client's timeouts and the context. Safe for
// concurrent use.
type Client struct {
	http   *httpapi.Client
	policy Policy
}

// New returns a Client that calls through c and handles failures by p.
func New(c *httpapi.Client, p Policy) *Client {
	return &Client{http: c, policy: p}
}

// PartialError says some upstreams failed; the result next to it holds
// what the others said. Errs are in address order.
type PartialError struct {
	Errs []error
}

func (e *PartialError) Error() string { return JoinErrors(e.Errs) }

// Unwrap returns the upstreams' errors.
func (e *PartialError) Unwrap() []error { return e.Errs }

// AllFailedError says no upstream of Kind ("nsqd" or "nsqlookupd")
// answered; Errs may be empty when there was nobody to ask. Its text is
// NSQ's.
type AllFailedError struct {
	Kind string
	Errs []error
}

func (e *AllFailedError) Error() string {
	return fmt.Sprintf("failed to query any %s: %s", e.Kind, JoinErrors(e.Errs))
}

// Unwrap returns the upstreams' errors.
func (e *AllFailedError) Unwrap() []error { return e.Errs }

// IsPartial reports whether err only says that some upstreams failed.
func IsPartial(err error) bool {
	var pe *PartialError
	return errors.As(err, &pe)
}

// JoinErrors joins the texts of errs one per line, as NSQ's nsqadmin does
// (nsqadmin then joins the messages of separate steps with "; ").
func JoinErrors(errs []error) string {
	parts := make([]string, len(errs))
	for i, err := range errs {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "\n")
}

// finish applies the policy to the errors of n calls to upstreams of
// kind: under Strict the first error and the zero result, under Partial
// the result with nil, a *PartialError or an *AllFailedError.
func finish[T any](c *Client, kind string, n int, result T, errs []error) (T, error) {
	switch {
	case len(errs) == 0:
		return result, nil
	case c.policy == Strict:
		var zero T
		return zero, errs[0]
	case len(errs) < n:
		return result, &PartialError{Errs: errs}
	}
	return result, &AllFailedError{Kind: kind, Errs: errs}
}

// FanOut runs f(0..n-1) concurrently and returns the results in index
// order (zero values where f failed) and the errors that occurred, in
// index order.
func FanOut[T any](n int, f func(i int) (T, error)) ([]T, []error) {
	results := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f(i)
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	return results, failed
}

// Endpoint builds the URL of path on the daemon at addr, which is a
// host:port or, as go-nsq allows for lookupds, a URL with a scheme.
func Endpoint(addr, path string, query url.Values) string {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := strings.TrimSuffix(base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// Get fetches a V1 JSON document into v; its errors name the request.
func (c *Client) Get(ctx context.Context, endpoint string, v any) error {
	return describe("GET", endpoint, c.http.GETV1(ctx, endpoint, v))
}

// Post calls an admin endpoint; its errors name the request.
func (c *Client) Post(ctx context.Context, endpoint string) error {
	return describe("POST", endpoint, c.http.POSTV1(ctx, endpoint, nil))
}

// describe prefixes err with the request so that whoever reads it knows
// which node said what.
func describe(method, endpoint string, err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: %w", method, endpoint, err)
}

// Errors returns the upstreams' errors held by a *PartialError or an
// *AllFailedError, or err itself as the only one.
func Errors(err error) []error {
	var pe *PartialError
	var ae *AllFailedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return pe.Errs
	case errors.As(err, &ae):
		return ae.Errs
	}
	return []error{err}
}
