package nsqadmin

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
)

// maxConfigValueSize bounds a PUT /config/:opt body.
const maxConfigValueSize = 1 << 20

// configCIDROnly restricts /config/:opt to clients inside
// --allow-config-from-cidr.
func (n *NSQAdmin) configCIDROnly(h httpapi.Handler) httpapi.Handler {
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
		if n.configCIDR == nil {
			return h(w, req, ps)
		}
		host, _, err := net.SplitHostPort(req.RemoteAddr)
		if err != nil {
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_REMOTE_ADDR"}
		}
		ip := net.ParseIP(host)
		if ip == nil {
			return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_REMOTE_ADDR"}
		}
		if !n.configCIDR.Contains(ip) {
			return nil, httpapi.Err{Code: http.StatusForbidden, Text: "FORBIDDEN"}
		}
		return h(w, req, ps)
	}
}

// GET /config/:opt returns any option by its config-file name.
func (n *NSQAdmin) getConfigHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	v, ok := cfg.Lookup(n.getOpts(), ps.ByName("opt"))
	if !ok {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_OPTION"}
	}
	return v.Interface(), nil
}

// PUT /config/:opt changes nsqlookupd_http_addresses (a JSON array of
// host:port) or log_level (debug, info, warn, error, fatal) at run time.
func (n *NSQAdmin) putConfigHandler(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
	opt := ps.ByName("opt")
	if opt != "nsqlookupd_http_addresses" && opt != "log_level" {
		return nil, httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_OPTION"}
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxConfigValueSize+1))
	if err != nil {
		return nil, httpapi.Err{Code: http.StatusInternalServerError, Text: "INTERNAL_ERROR"}
	}
	if len(body) == 0 || len(body) > maxConfigValueSize {
		return nil, httpapi.Err{Code: http.StatusRequestEntityTooLarge, Text: "INVALID_VALUE"}
	}
	invalid := httpapi.Err{Code: http.StatusBadRequest, Text: "INVALID_VALUE"}
	n.configMu.Lock()
	defer n.configMu.Unlock()
	opts := n.getOpts().clone()
	switch opt {
	case "nsqlookupd_http_addresses":
		var addrs []string
		if err := json.Unmarshal(body, &addrs); err != nil {
			return nil, invalid
		}
		for _, a := range addrs {
			if checkHostPort(a) != nil {
				return nil, invalid
			}
		}
		if len(addrs) == 0 && len(opts.NSQDHTTPAddresses) == 0 {
			// nsqadmin would be left with no way to find any node
			return nil, invalid
		}
		opts.NSQLookupdHTTPAddresses = addrs
		n.logf(lg.INFO, "config: nsqlookupd_http_addresses set to %v", addrs)
		n.opts.Store(opts)
		return addrs, nil
	default: // log_level
		level, err := lg.ParseLevel(strings.TrimSpace(string(body)))
		if err != nil {
			return nil, invalid
		}
		opts.LogLevel = level
		n.log.SetLevel(level)
		n.opts.Store(opts)
		return level, nil
	}
}
