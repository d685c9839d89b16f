package httpmetrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
)

// Other is the route label of a request that matches no route.
const Other = "other"

// Requests holds the request counters and latency histograms. Safe for
// concurrent use.
type Requests struct {
	total   *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

// New returns the collectors <prefix>_requests_total{route,method,code}
// and <prefix>_request_duration_seconds{route}, e.g. prefix
// "nsqlookupd_http".
func New(prefix string) *Requests {
	return &Requests{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    prefix + "_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
}

// Collectors returns what to register.
func (r *Requests) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.total, r.seconds}
}

// Wrap counts every request next serves; route names the request's route
// pattern (Other when none matches).
func (r *Requests) Wrap(next http.Handler, route func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, req)
		rt := route(req)
		r.total.WithLabelValues(rt, method(req.Method), strconv.Itoa(sw.code)).Inc()
		r.seconds.WithLabelValues(rt).Observe(time.Since(start).Seconds())
	})
}

// method keeps the method label to the standard set.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodPatch, http.MethodOptions:
		return m
	}
	return "OTHER"
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(p)
}

// Flush lets streaming handlers (pprof) flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RoutePattern names a request by the route of r it matches, with each
// parameter's segment replaced by ":name" (/api/topics/:topic), or Other.
func RoutePattern(r *httprouter.Router) func(*http.Request) string {
	return func(req *http.Request) string {
		h, ps, _ := r.Lookup(req.Method, req.URL.Path)
		if h == nil {
			if req.Method == http.MethodHead {
				if h, ps, _ = r.Lookup(http.MethodGet, req.URL.Path); h != nil {
					return pattern(req.URL.Path, ps)
				}
			}
			return Other
		}
		return pattern(req.URL.Path, ps)
	}
}

func pattern(path string, ps httprouter.Params) string {
	if len(ps) == 0 {
		return path
	}
	segs := strings.Split(path, "/")
	next := 0
	for i, s := range segs {
		if next < len(ps) && s == ps[next].Value {
			segs[i] = ":" + ps[next].Key
			next++
		}
	}
	return strings.Join(segs, "/")
}
