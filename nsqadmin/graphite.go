package nsqadmin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
)

// graphiteProxy forwards <bp>/render to <graphite-url>/render with the
// URL's user info as basic auth (--proxy-graphite).
func (n *NSQAdmin) graphiteProxy() http.Handler {
	g := n.graphite
	user := g.User
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = g.Scheme
			pr.Out.URL.Host = g.Host
			pr.Out.URL.Path = strings.TrimSuffix(g.Path, "/") + "/render"
			pr.Out.URL.RawPath = ""
			pr.Out.Host = g.Host
			if user != nil {
				pass, _ := user.Password()
				pr.Out.SetBasicAuth(user.Username(), pass)
			}
		},
		Transport: n.client.HTTP().Transport,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			n.logf(lg.WARN, "graphite proxy: %s", err)
			httpapi.RespondV1(w, http.StatusBadGateway, httpapi.Err{Code: http.StatusBadGateway, Text: "UPSTREAM_ERROR: " + err.Error()})
		},
	}
}

// GET /api/graphite?metric=rate&target=<t>: the target's latest per-second
// rate from Graphite, as {"rate":"12.34"} or {"rate":"N/A"}.
func (n *NSQAdmin) graphiteHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return nil, err
	}
	if m, _ := q.Get("metric"); m != "rate" {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_METRIC"}
	}
	target, _ := q.Get("target")
	if target == "" {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_ARG_TARGET"}
	}
	rate, err := n.graphiteRate(req, target)
	if err != nil {
		n.logf(lg.ERROR, "graphite: %s", err)
		return nil, httpapi.Err{Code: http.StatusInternalServerError, Text: "INTERNAL_ERROR"}
	}
	return struct {
		Rate string `json:"rate"`
	}{rate}, nil
}

func (n *NSQAdmin) graphiteRate(req *http.Request, target string) (string, error) {
	if n.graphite == nil {
		return "", fmt.Errorf("--graphite-url is not set")
	}
	interval := n.getOpts().StatsdInterval
	secs := int64(interval / time.Second)
	u := *n.graphite
	u.User = nil
	u.Path = strings.TrimSuffix(u.Path, "/") + "/render"
	u.RawQuery = url.Values{
		"target": {target},
		"from":   {fmt.Sprintf("-%dsec", 2*secs)},
		"until":  {fmt.Sprintf("-%dsec", secs)},
		"format": {"json"},
	}.Encode()
	r, err := http.NewRequestWithContext(req.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	if n.graphite.User != nil {
		pass, _ := n.graphite.User.Password()
		r.SetBasicAuth(n.graphite.User.Username(), pass)
	}
	resp, err := n.client.HTTP().Do(r)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: got response %s %q", u.String(), resp.Status, body)
	}
	var series []struct {
		Datapoints [][]*float64 `json:"datapoints"`
	}
	if err := json.Unmarshal(body, &series); err != nil {
		return "", fmt.Errorf("GET %s: %w", u.String(), err)
	}
	for _, s := range series {
		if len(s.Datapoints) == 0 || len(s.Datapoints[0]) == 0 || s.Datapoints[0][0] == nil {
			continue
		}
		v := *s.Datapoints[0][0]
		if v < 0 {
			return "N/A", nil
		}
		return fmt.Sprintf("%.2f", v/float64(secs)), nil
	}
	return "N/A", nil
}
