package nsqadmin

import (
	"compress/flate"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
)

// compress wraps h so that a request accepting gzip (preferred) or
// deflate gets a compressed body with Content-Encoding and
// Vary: Accept-Encoding. A response that is already encoded (a proxied
// Graphite reply) passes through untouched.
func compress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		enc := pickEncoding(req.Header.Get("Accept-Encoding"))
		if enc == "" || req.Method == http.MethodHead {
			h.ServeHTTP(w, req)
			return
		}
		w.Header().Add("Vary", "Accept-Encoding")
		cw := &compressWriter{ResponseWriter: w, encoding: enc}
		defer cw.close()
		h.ServeHTTP(cw, req)
	})
}

// pickEncoding chooses gzip or deflate from an Accept-Encoding header,
// ignoring codings refused with q=0.
func pickEncoding(accept string) string {
	ok := map[string]bool{}
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		name := strings.ToLower(strings.TrimSpace(fields[0]))
		refused := false
		for _, p := range fields[1:] {
			p = strings.ReplaceAll(strings.TrimSpace(p), " ", "")
			if p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000" {
				refused = true
			}
		}
		if !refused {
			ok[name] = true
		}
	}
	switch {
	case ok["gzip"]:
		return "gzip"
	case ok["deflate"]:
		return "deflate"
	}
	return ""
}

// compressWriter compresses the body once the handler has set its
// headers. Not safe for concurrent use (one per request).
type compressWriter struct {
	http.ResponseWriter
	encoding    string
	wroteHeader bool
	w           io.WriteCloser // nil: write through uncompressed
}

func (c *compressWriter) WriteHeader(code int) {
	if c.wroteHeader {
		return
	}
	c.wroteHeader = true
	h := c.Header()
	if h.Get("Content-Encoding") == "" && code != http.StatusNoContent && code != http.StatusNotModified {
		h.Set("Content-Encoding", c.encoding)
		h.Del("Content-Length")
		if c.encoding == "gzip" {
			c.w = gzip.NewWriter(c.ResponseWriter)
		} else {
			c.w, _ = flate.NewWriter(c.ResponseWriter, flate.DefaultCompression)
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *compressWriter) Write(b []byte) (int, error) {
	if !c.wroteHeader {
		if c.Header().Get("Content-Type") == "" {
			c.Header().Set("Content-Type", http.DetectContentType(b))
		}
		c.WriteHeader(http.StatusOK)
	}
	if c.w == nil {
		return c.ResponseWriter.Write(b)
	}
	return c.w.Write(b)
}

func (c *compressWriter) close() {
	if c.w != nil {
		c.w.Close()
	}
}

// Flush lets a streaming handler (the Graphite proxy) push data through.
func (c *compressWriter) Flush() {
	if f, ok := c.w.(interface{ Flush() error }); ok {
		f.Flush()
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
