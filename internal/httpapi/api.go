package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/julienschmidt/httprouter"
)

// Err is an HTTP error answered as {"message": Text} with status Code.
type Err struct {
	Code int
	Text string
}

func (e Err) Error() string { return e.Text }

// Handler is an API handler: it returns a value to encode or an error.
// A string result is sent as text, nil as an empty body, []byte raw, and
// anything else as JSON.
type Handler func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error)

// Decorator wraps a Handler.
type Decorator func(Handler) Handler

// Decorate applies ds to f (the first wraps outermost) and adapts the
// result to httprouter.
func Decorate(f Handler, ds ...Decorator) httprouter.Handle {
	for i := len(ds) - 1; i >= 0; i-- {
		f = ds[i](f)
	}
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		f(w, req, ps)
	}
}

// V1 writes the handler's result in NSQ's V1 format.
func V1(f Handler) Handler {
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
		data, err := f(w, req, ps)
		if err != nil {
			RespondV1(w, errStatus(err), err)
			return nil, nil
		}
		RespondV1(w, http.StatusOK, data)
		return nil, nil
	}
}

// PlainText writes the handler's result as plain text (NSQ's /ping and
// debug endpoints), errors as "<text>" with their status. Like NSQ it sets
// no Content-Type: net/http sniffs "text/plain; charset=utf-8" from the
// text, except under a Content-Encoding (nsqadmin's compression), where
// NSQ's replies carry none either.
func PlainText(f Handler) Handler {
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
		data, err := f(w, req, ps)
		if err != nil {
			w.WriteHeader(errStatus(err))
			fmt.Fprint(w, err.Error())
			return nil, nil
		}
		switch d := data.(type) {
		case string:
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, d)
		case []byte:
			w.WriteHeader(http.StatusOK)
			w.Write(d)
		case nil:
			w.WriteHeader(http.StatusOK)
		default:
			RespondV1(w, http.StatusInternalServerError, Err{500, "INTERNAL_ERROR"})
		}
		return nil, nil
	}
}

// Logger logs one line per request after it is served.
type Logger func(format string, args ...any)

// Log logs each request with its duration.
func Log(logf Logger) Decorator { return LogIf(nil, logf) }

// LogIf is Log that skips the clock reads and the line's arguments when
// enabled (asked per request; nil means always) reports false: a line at
// a disabled level still cost allocations on every request.
func LogIf(enabled func() bool, logf Logger) Decorator {
	return func(f Handler) Handler {
		return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
			if enabled != nil && !enabled() {
				return f(w, req, ps)
			}
			start := time.Now()
			data, err := f(w, req, ps)
			logf("%s %s (%s) %s", req.Method, req.URL.RequestURI(), req.RemoteAddr, time.Since(start))
			return data, err
		}
	}
}

// StatusOf is the status V1 answers err with: an Err's Code, else 500.
func StatusOf(err error) int { return errStatus(err) }

func errStatus(err error) int {
	if e, ok := err.(Err); ok {
		return e.Code
	}
	return http.StatusInternalServerError
}

var (
	hdrNSQ  = []string{"nsq; version=1.0"}
	hdrJSON = []string{ContentTypeJSON}
	hdrText = []string{ContentTypeText}
	hdrZero = []string{"0"}
)

// RespondV1 writes data (or an error) in the V1 format with status code.
func RespondV1(w http.ResponseWriter, code int, data any) {
	code, body, contentType := V1Body(code, data)
	// canonical keys and shared, never modified value slices: Set would
	// allocate a slice per header on every reply
	h := w.Header()
	h["X-Nsq-Content-Type"] = hdrNSQ
	switch contentType {
	case ContentTypeJSON:
		h["Content-Type"] = hdrJSON
	case ContentTypeText:
		h["Content-Type"] = hdrText
	}
	if len(body) == 0 {
		h["Content-Length"] = hdrZero
	}
	w.WriteHeader(code)
	w.Write(body)
}

// The Content-Type values of V1 replies.
const (
	ContentTypeJSON = "application/json; charset=utf-8"
	ContentTypeText = "text/plain; charset=utf-8"
)

// V1Body is the status, body and Content-Type ("" for none) RespondV1
// sends for code and data; a raw-connection writer uses it to send the
// same bytes.
func V1Body(code int, data any) (int, []byte, string) {
	var body []byte
	isJSON := false
	switch d := data.(type) {
	case nil:
	case string:
		body = []byte(d)
	case []byte:
		body = d
	case error:
		body, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{d.Error()})
		isJSON = true
	default:
		var err error
		body, err = json.Marshal(data)
		if err != nil {
			code = http.StatusInternalServerError
			body = []byte(`{"message":"INTERNAL_ERROR"}`)
		}
		isJSON = true
	}
	switch {
	case isJSON:
		return code, body, ContentTypeJSON
	case len(body) > 0:
		return code, body, ContentTypeText
	}
	return code, body, ""
}

// NewRouter returns an httprouter with NSQ's replies for unknown paths
// (404 NOT_FOUND), wrong methods (405 METHOD_NOT_ALLOWED with Allow) and
// handler panics (500 INTERNAL_ERROR, logged).
func NewRouter(logf Logger) *httprouter.Router {
	r := httprouter.New()
	r.HandleMethodNotAllowed = true
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, p any) {
		logf("panic in HTTP handler %s %s: %v", req.Method, req.URL.Path, p)
		RespondV1(w, http.StatusInternalServerError, Err{500, "INTERNAL_ERROR"})
	}
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		RespondV1(w, http.StatusNotFound, Err{404, "NOT_FOUND"})
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		RespondV1(w, http.StatusMethodNotAllowed, Err{405, "METHOD_NOT_ALLOWED"})
	})
	return r
}

// Query is a parsed query string where the first value of a key wins.
type Query url.Values

// ParseQuery parses req's query string; a bad escape is 400 INVALID_REQUEST.
func ParseQuery(req *http.Request) (Query, error) {
	v, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return nil, Err{400, "INVALID_REQUEST"}
	}
	return Query(v), nil
}

// Get returns the first value of key and whether the key was present.
func (q Query) Get(key string) (string, bool) {
	v, ok := q[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}
