package nsqadmin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/tlsconf"
)

// NSQAdmin is the web UI and JSON API daemon. Create it with New, run it
// with Main and stop it with Exit. Safe for concurrent use.
type NSQAdmin struct {
	opts     atomic.Pointer[Options] // replaced whole by PUT /config/:opt
	configMu sync.Mutex              // serializes PUT /config/:opt (read, copy, store)
	log      *lg.Leveled

	listener   net.Listener
	server     *http.Server // serves listener; Close also drops keep-alive connections
	client     *httpapi.Client
	cluster    *cluster
	history    *history
	metrics    *metrics
	notifier   *notifier
	graphite   *url.URL   // nil without --graphite-url
	configCIDR *net.IPNet // nil: /config is open to everyone
	hostname   string
	assets     *assets

	exitOnce sync.Once
	exitCh   chan struct{}
	mu       sync.Mutex     // guards exited and wg.Add, so Main's Add never races Exit's Wait
	exited   bool           // Exit has begun; Main starts nothing more
	wg       sync.WaitGroup // the sampler and the notifier
}

// New validates opts and opens the HTTP listener, so that with port 0 the
// real address is known (RealHTTPAddr) before Main runs.
func New(opts *Options) (*NSQAdmin, error) {
	opts = opts.clone()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	n := &NSQAdmin{
		log:    lg.NewLeveled(opts.Logger, opts.LogLevel),
		exitCh: make(chan struct{}),
	}
	n.opts.Store(opts)
	var err error
	if n.hostname, err = os.Hostname(); err != nil {
		n.hostname = "localhost"
	}
	if opts.AllowConfigFromCIDR != "" {
		_, n.configCIDR, _ = net.ParseCIDR(opts.AllowConfigFromCIDR) // checked by validate
	}
	if opts.GraphiteURL != "" {
		n.graphite, _ = url.Parse(opts.GraphiteURL) // checked by validate
	}
	tlsConfig, err := clientTLSConfig(opts)
	if err != nil {
		return nil, err
	}
	n.client = httpapi.NewClient(tlsConfig, opts.HTTPClientConnectTimeout, opts.HTTPClientRequestTimeout)
	n.cluster = &cluster{clusterinfo.New(n.client, clusterinfo.Partial)}
	n.history = newHistory(opts.HistoryInterval, opts.HistoryDuration)
	n.metrics = newMetrics(n.history)
	n.metrics.instrument(n.client.HTTP())
	n.notifier = newNotifier(n.client, opts.NotificationHTTPEndpoint, n.logf)
	if n.assets, err = newAssets(opts.DevStaticDir); err != nil {
		return nil, err
	}
	if n.listener, err = net.Listen("tcp", opts.HTTPAddress); err != nil {
		return nil, fmt.Errorf("listen (%s) failed - %w", opts.HTTPAddress, err)
	}
	n.server = &http.Server{
		Handler:           n.handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(logWriter{n}, "", 0),
	}
	return n, nil
}

func clientTLSConfig(o *Options) (*tls.Config, error) {
	c, err := tlsconf.Client(tlsconf.Files{
		Cert: o.HTTPClientTLSCert, Key: o.HTTPClientTLSKey, RootCA: o.HTTPClientTLSRootCAFile,
		CertFlag: "--http-client-tls-cert", KeyFlag: "--http-client-tls-key", RootCAFlag: "--http-client-tls-root-ca-file",
	})
	if err != nil {
		return nil, err
	}
	c.InsecureSkipVerify = o.HTTPClientTLSInsecureSkipVerify
	return c, nil
}

func (n *NSQAdmin) getOpts() *Options { return n.opts.Load() }

func (n *NSQAdmin) logf(lvl lg.Level, format string, args ...any) {
	n.log.Logf(lvl, format, args...)
}

// RealHTTPAddr is the address the HTTP listener is bound to.
func (n *NSQAdmin) RealHTTPAddr() net.Addr { return n.listener.Addr() }

// Main serves HTTP, samples the cluster into the history and sends
// notifications until Exit is called. It returns an error only if serving
// failed for another reason.
func (n *NSQAdmin) Main() error {
	n.logf(lg.INFO, "%s", versionLine())
	n.logf(lg.INFO, "HTTP: listening on %s", n.listener.Addr())
	n.spawn(n.sampleLoop)
	n.spawn(func() { n.notifier.run(n.exitCh) })
	err := n.server.Serve(n.listener)
	n.Exit()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// logWriter sends the HTTP server's own complaints to our log.
type logWriter struct{ n *NSQAdmin }

func (w logWriter) Write(p []byte) (int, error) {
	w.n.logf(lg.WARN, "HTTP: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// Exit stops the listener and the background work and waits for them.
// It may be called more than once.
func (n *NSQAdmin) Exit() {
	n.exitOnce.Do(func() {
		n.mu.Lock()
		n.exited = true
		n.mu.Unlock()
		n.server.Close() // the listener and every connection, idle or not
		n.listener.Close()
		close(n.exitCh)
	})
	n.wg.Wait()
}

// spawn runs f on a goroutine that Exit waits for, unless Exit has begun
// (a test or a signal may call Exit before Main got this far).
func (n *NSQAdmin) spawn(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.exited {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// exiting reports whether Exit has been called.
func (n *NSQAdmin) exiting() bool {
	select {
	case <-n.exitCh:
		return true
	default:
		return false
	}
}

// sampleLoop records a history sample every HistoryInterval.
func (n *NSQAdmin) sampleLoop() {
	interval := n.getOpts().HistoryInterval
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	n.sample()
	for {
		select {
		case <-n.exitCh:
			return
		case <-ticker.C:
			n.sample()
		}
	}
}

// sample fetches every node's stats once and records them. The whole
// sample is bounded by the HTTP client timeouts and stops at Exit.
func (n *NSQAdmin) sample() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.exitCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	opts := n.getOpts()
	now := time.Now()
	defer func() { n.metrics.sampleTime.Observe(time.Since(now).Seconds()) }()
	producers, err := n.cluster.producers(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if n.exiting() {
		return
	}
	if err != nil && !clusterinfo.IsPartial(err) {
		n.logf(lg.WARN, "history: %s", err)
		n.history.recordGap(now)
		n.metrics.samples.WithLabelValues("gap").Inc()
		return
	}
	if len(producers) == 0 {
		n.history.record(now, nil, nil)
		n.metrics.samples.WithLabelValues("ok").Inc()
		return
	}
	var nodes []*TopicStats
	var answered []string
	results, err := n.cluster.statsEach(ctx, producers, "", "", false)
	for _, err := range clusterinfo.Errors(err) {
		n.logf(lg.DEBUG, "history: %s", err)
	}
	for _, r := range results {
		answered = append(answered, r.producer.HTTPAddress())
		nodes = append(nodes, r.topics...)
	}
	if n.exiting() {
		return
	}
	if len(answered) == 0 {
		n.logf(lg.WARN, "history: no nsqd answered")
		n.history.recordGap(now)
		n.metrics.samples.WithLabelValues("gap").Inc()
		return
	}
	n.history.record(now, answered, nodes)
	n.metrics.samples.WithLabelValues("ok").Inc()
}
