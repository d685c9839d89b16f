// Package httpmetrics counts and times a daemon's HTTP requests for its
// Prometheus /metrics, by route pattern (never the raw path, so a scan of
// random URLs adds one "other" series, not thousands) and status code.
// nsqlookupd and nsqadmin use it; each daemon has its own registry.
//
// It holds no locks of its own.
package httpmetrics
