package nsqadmin

import (
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/httpmetrics"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/version"
)

func versionLine() string { return version.String("nsqadmin") }

// handler builds the HTTP routes under --base-path, wrapped in the
// gzip/deflate compressor.
func (n *NSQAdmin) handler() http.Handler {
	opts := n.getOpts()
	bp := opts.BasePath
	at := func(p string) string { return path.Join(bp, p) }
	logf := func(format string, args ...any) { n.logf(lg.INFO, format, args...) }
	r := httpapi.NewRouter(func(format string, args ...any) { n.logf(lg.ERROR, format, args...) })
	log := httpapi.Log(logf)
	api := func(h httpapi.Handler) httprouter.Handle { return httpapi.Decorate(h, log, httpapi.V1) }

	r.GET(at("/ping"), httpapi.Decorate(func(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
		return "OK", nil
	}, log, httpapi.PlainText))

	for _, page := range []string{"/", "/topics", "/topics/:topic", "/topics/:topic/:channel",
		"/nodes", "/nodes/:node", "/counter", "/lookup"} {
		r.GET(at(page), n.indexHandler)
	}
	r.GET(at("/static/:asset"), func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		n.assets.serve(w, req, "", ps.ByName("asset"))
	})
	r.GET(at("/fonts/:asset"), func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		n.assets.serve(w, req, "fonts", ps.ByName("asset"))
	})
	if opts.ProxyGraphite {
		proxy := n.graphiteProxy()
		r.GET(at("/render"), func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
			proxy.ServeHTTP(w, req)
		})
	}

	r.GET(at("/api/topics"), api(n.topicsHandler))
	r.GET(at("/api/topics/:topic"), api(n.topicHandler))
	r.GET(at("/api/topics/:topic/:channel"), api(n.channelHandler))
	r.GET(at("/api/nodes"), api(n.nodesHandler))
	r.GET(at("/api/nodes/:node"), api(n.nodeHandler))
	r.GET(at("/api/counter"), api(n.counterHandler))
	r.GET(at("/api/graphite"), api(n.graphiteHandler))
	r.GET(at("/api/overview"), api(n.overviewHandler))
	r.GET(at("/api/history"), api(n.historyHandler))

	r.POST(at("/api/topics"), api(n.admin(n.createTopicChannelHandler)))
	r.POST(at("/api/topics/:topic"), api(n.admin(n.topicActionHandler)))
	r.POST(at("/api/topics/:topic/:channel"), api(n.admin(n.channelActionHandler)))
	r.DELETE(at("/api/topics/:topic"), api(n.admin(n.deleteTopicHandler)))
	r.DELETE(at("/api/topics/:topic/:channel"), api(n.admin(n.deleteChannelHandler)))
	r.DELETE(at("/api/nodes/:node"), api(n.admin(n.tombstoneTopicProducerHandler)))

	// beyond NSQ: dead letters and peek (ops.go), Prometheus metrics
	r.GET(at("/api/topics/:topic/:channel/config"), api(n.channelConfigHandler))
	r.POST(at("/api/topics/:topic/:channel/config"), api(n.admin(n.channelConfigHandler)))
	r.GET(at("/api/topics/:topic/:channel/dead"), api(n.channelDeadHandler))
	r.POST(at("/api/topics/:topic/:channel/dead/replay"), api(n.admin(n.channelReplayHandler)))
	r.GET(at("/api/topics/:topic/:channel/peek"), api(n.channelPeekHandler))
	r.GET(at("/api/lag/:topic"), api(n.topicLagHandler))
	r.GET(at("/api/replay/:topic"), api(n.topicReplayHandler))
	r.GET(at("/api/replication"), api(n.replicationHandler))
	r.Handler(http.MethodGet, at("/metrics"), n.metrics.handler)

	r.GET(at("/config/:opt"), api(n.configCIDROnly(n.getConfigHandler)))
	r.PUT(at("/config/:opt"), api(n.configCIDROnly(n.putConfigHandler)))
	return n.metrics.http.Wrap(compress(sameOrigin(r)), httpmetrics.RoutePattern(r))
}

// sameOrigin refuses state-changing requests (POST, PUT, DELETE) that a
// browser marks as coming from another origin (Sec-Fetch-Site, or an
// Origin that is not this host) with 403 CROSS_ORIGIN_REQUEST, so a page
// elsewhere cannot drive the admin actions through a visitor's browser,
// with or without an ACL header. Our own UI is same-origin; clients
// without those headers (curl, scripts) are not affected. Beyond NSQ.
func sameOrigin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		httpapi.RespondV1(w, http.StatusForbidden, httpapi.Err{Code: http.StatusForbidden, Text: "CROSS_ORIGIN_REQUEST"})
	}))
	return cop.Handler(h)
}

// isAdmin reports whether req may perform admin actions: always when no
// --admin-user is configured, else when the ACL header names one.
func (n *NSQAdmin) isAdmin(req *http.Request) bool {
	opts := n.getOpts()
	if len(opts.AdminUsers) == 0 {
		return true
	}
	user := req.Header.Get(opts.ACLHTTPHeader)
	for _, u := range opts.AdminUsers {
		if u == user {
			return true
		}
	}
	return false
}

// admin rejects requests that are not from an admin with 403 FORBIDDEN.
func (n *NSQAdmin) admin(h httpapi.Handler) httpapi.Handler {
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) (any, error) {
		if !n.isAdmin(req) {
			return nil, httpapi.Err{Code: http.StatusForbidden, Text: "FORBIDDEN"}
		}
		return h(w, req, ps)
	}
}

func (n *NSQAdmin) indexHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	opts := n.getOpts()
	graphiteURL := opts.GraphiteURL
	if opts.ProxyGraphite {
		graphiteURL = ""
	}
	n.assets.serveIndex(w, &shell{
		Version:             version.Binary,
		UserAgent:           "nsqadmin/v" + version.Binary,
		GraphiteURL:         strings.TrimSuffix(graphiteURL, "/"),
		GraphEnabled:        opts.GraphiteURL != "",
		StatsdCounterFormat: opts.StatsdCounterFormat,
		StatsdGaugeFormat:   opts.StatsdGaugeFormat,
		StatsdInterval:      int64(opts.StatsdInterval / time.Second),
		StatsdPrefix:        opts.StatsdPrefix,
		NSQLookupd:          nonNil(opts.NSQLookupdHTTPAddresses),
		NSQD:                nonNil(opts.NSQDHTTPAddresses),
		IsAdmin:             n.isAdmin(req),
		BasePath:            opts.BasePath,
		Static:              path.Join(opts.BasePath, "static"),
		HistoryIntervalMs:   opts.HistoryInterval.Milliseconds(),
		HistoryDurationMs:   opts.HistoryDuration.Milliseconds(),
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// warnings collects partial-failure messages for a reply's "message".
type warnings []string

// absorb records a partial failure and returns nil, or turns a total
// failure into 502 UPSTREAM_ERROR.
func (w *warnings) absorb(n *NSQAdmin, err error) error {
	if err == nil {
		return nil
	}
	if clusterinfo.IsPartial(err) {
		n.logf(lg.WARN, "%s", err)
		*w = append(*w, err.Error())
		return nil
	}
	n.logf(lg.ERROR, "%s", err)
	return httpapi.Err{Code: http.StatusBadGateway, Text: "UPSTREAM_ERROR: " + err.Error()}
}

// message is "" or "WARNING: <err1>; <err2>".
func (w warnings) message() string {
	if len(w) == 0 {
		return ""
	}
	return "WARNING: " + strings.Join(w, "; ")
}
