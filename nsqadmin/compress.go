package nsqadmin

import (
	"compress/flate"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
)

// compress wraps h so that a request accepting gzip or deflate gets a
// compressed body with Content-Encoding and Vary: Accept-Encoding, as
// NSQ's nsqadmin does: the first of the two named in Accept-Encoding
// wins, an empty reply is compressed too, and a reply that set no
// Content-Type gets none (net/http does not sniff an encoded body). A
// response that is already encoded (a proxied Graphite reply) passes
// through untouched.
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

// pickEncoding chooses gzip or deflate from an Accept-Encoding header:
// the first element that is exactly one of them. Like NSQ's, it takes a
// coding with parameters ("gzip;q=0.5", also "gzip;q=0") for another
// coding, which it then does not use.
func pickEncoding(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		switch name := strings.TrimSpace(part); name {
		case "gzip", "deflate":
			return name
		}
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
		c.WriteHeader(http.StatusOK)
	}
	if c.w == nil {
		return c.ResponseWriter.Write(b)
	}
	return c.w.Write(b)
}

func (c *compressWriter) close() {
	if !c.wroteHeader { // nothing written (OPTIONS): still an encoded, empty body
		c.WriteHeader(http.StatusOK)
	}
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
