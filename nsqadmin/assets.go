package nsqadmin

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
)

// The UI: plain HTML, CSS and JavaScript modules, no build step. The HTML
// shell is a template (it carries the per-request globals); everything
// under static/ is served as it is.
var (
	//go:embed static
	embedded embed.FS
	//go:embed templates/index.html
	indexHTML string
)

// assets serves the UI's files from the binary, or from --dev-static-dir.
type assets struct {
	files fs.FS
	index *template.Template
}

func newAssets(devDir string) (*assets, error) {
	a := &assets{}
	if devDir != "" {
		st, err := os.Stat(devDir)
		if err != nil {
			return nil, fmt.Errorf("--dev-static-dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("--dev-static-dir %s is not a directory", devDir)
		}
		a.files = os.DirFS(devDir)
	} else {
		sub, err := fs.Sub(embedded, "static")
		if err != nil {
			return nil, fmt.Errorf("embedded assets: %w", err)
		}
		a.files = sub
	}
	t, err := template.New("index").Parse(indexHTML)
	if err != nil {
		return nil, fmt.Errorf("index template: %w", err)
	}
	a.index = t
	return a, nil
}

// shell is what the HTML shell tells the JavaScript (NSQ's globals, plus
// ours prefixed with HISTORY_ and NSQD).
type shell struct {
	Version             string
	UserAgent           string
	GraphiteURL         string
	GraphEnabled        bool
	StatsdCounterFormat string
	StatsdGaugeFormat   string
	StatsdInterval      int64
	StatsdPrefix        string
	NSQLookupd          []string
	NSQD                []string
	IsAdmin             bool
	BasePath            string
	Static              string // URL prefix of the assets, no trailing slash
	HistoryIntervalMs   int64
	HistoryDurationMs   int64
}

// serveIndex writes the HTML shell. The headers are NSQ's: Content-Type
// "text/html" (the page declares its charset itself) and nothing else.
func (a *assets) serveIndex(w http.ResponseWriter, data *shell) {
	w.Header().Set("Content-Type", "text/html")
	if err := a.index.Execute(w, data); err != nil {
		// headers are gone already; the connection will show a cut page
		fmt.Fprintf(w, "<!-- template error: %s -->", template.HTMLEscapeString(err.Error()))
	}
}

// serve writes the asset name from directory dir ("" for the top), or
// 404 NOT_FOUND as plain text.
func (a *assets) serve(w http.ResponseWriter, _ *http.Request, dir, name string) {
	notFound := func() { // no Content-Type, as in NSQ (sniffed unless compressed)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "NOT_FOUND")
	}
	if !fs.ValidPath(name) || strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		notFound()
		return
	}
	f, err := a.files.Open(path.Join(dir, name))
	if err != nil {
		notFound()
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		notFound()
		return
	}
	// like NSQ: the type from the extension and the bytes, no caching or
	// range headers
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	io.Copy(w, f)
}
