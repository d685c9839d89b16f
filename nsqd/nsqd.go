package nsqd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/storage"
	"github.com/dropin/nsq/internal/tlsconf"
)

var (
	errTopicNotFound   = errors.New("topic not found")
	errChannelNotFound = errors.New("channel not found")
)

// NSQD is the broker daemon. It owns the listeners, the topics and the
// connected clients. Create it with New, run it with Main, stop it with
// Exit. Safe for concurrent use.
type NSQD struct {
	optsMu    sync.Mutex // guards opts.NSQLookupdTCPAddresses and opts.LogLevel (PUT /config)
	opts      *Options
	log       *lg.Leveled
	env       *queueEnv
	startTime time.Time

	// mu guards topics, exiting and httpServers.
	mu          sync.RWMutex
	topics      map[string]*Topic
	exiting     bool
	httpServers []*http.Server
	loading     atomic.Bool
	chanGen     atomic.Uint64 // bumped when a channel is created or deleted

	// clientsMu guards clients and conns, and orders connWG.Add before
	// closeConns's connWG.Wait.
	clientsMu    sync.Mutex
	clients      map[int64]*client
	conns        map[net.Conn]struct{} // every accepted TCP connection, V2 or not yet
	lastClientID atomic.Int64

	tcpListener   net.Listener
	httpListener  net.Listener
	httpsListener net.Listener
	tlsConfig     *tls.Config
	tlsRequired   TLSRequired
	httpClient    *httpapi.Client
	auth          *authClient
	httpAuth      httpAuthCache
	lookup        *lookupPeers
	lm            *logMode // --storage=log; nil with diskqueue

	dataDir  *os.File // flocked
	metaWake chan struct{}
	metaMu   sync.Mutex // serializes nsqd.dat writes

	// healthMu guards healthErr.
	healthMu  sync.RWMutex
	healthErr error

	exitCh   chan struct{}
	exitOnce sync.Once
	wg       sync.WaitGroup
	connWG   sync.WaitGroup
}

// New validates opts, locks the data directory, opens the listeners and
// loads nsqd.dat. With port 0 in an address, the real ports are known as
// soon as New returns. New works on a copy: the caller's Options are not
// changed, then or later.
func New(opts *Options) (_ *NSQD, retErr error) {
	var err error
	opts = opts.clone()
	if err := resolveStorage(opts); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = lg.NewStderr(opts.LogPrefix)
	}
	if opts.TLSClientAuthPolicy != "" && opts.TLSRequired == TLSNotRequired {
		opts.TLSRequired = TLSRequiredAll
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	replCfg, err := parseReplication(opts)
	if err != nil {
		return nil, err
	}
	if opts.DataPath == "" {
		if opts.DataPath, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	n := &NSQD{
		opts:        opts,
		log:         lg.NewLeveled(opts.Logger, opts.LogLevel),
		startTime:   time.Now(),
		topics:      make(map[string]*Topic),
		clients:     make(map[int64]*client),
		conns:       make(map[net.Conn]struct{}),
		tlsRequired: opts.TLSRequired,
		metaWake:    make(chan struct{}, 1),
		exitCh:      make(chan struct{}),
	}
	defer func() {
		if retErr != nil {
			n.closeListeners()
			if n.lm != nil {
				n.lm.abort()
			}
			n.unlockDataDir()
		}
	}()
	if n.dataDir, err = lockDir(opts.DataPath); err != nil {
		return nil, fmt.Errorf("failed to lock data-path: %w", err)
	}
	if opts.Storage == StorageLog && replCfg == nil {
		if err := takeOverNSQDir(opts.DataPath, n.log); err != nil {
			return nil, err
		}
	}
	if err := checkStorageDir(opts); err != nil {
		return nil, err
	}
	if n.tlsConfig, err = buildTLSConfig(opts); err != nil {
		return nil, fmt.Errorf("failed to build TLS config: %w", err)
	}
	// auth and lookupd HTTP calls present the same key pair and trust
	// --tls-root-ca-file
	outbound, err := tlsconf.Client(opts.tlsFiles())
	if err != nil {
		return nil, fmt.Errorf("failed to build outbound TLS config: %w", err)
	}
	n.httpClient = httpapi.NewClient(outbound, opts.HTTPClientConnectTimeout, opts.HTTPClientRequestTimeout)
	if len(opts.AuthHTTPAddresses) > 0 {
		n.auth = newAuthClient(opts.AuthHTTPAddresses, opts.AuthHTTPRequestMethod, n.httpClient)
	}
	n.env = &queueEnv{
		memQueueSize:   int(opts.MemQueueSize),
		maxMsgTimeout:  opts.MaxMsgTimeout,
		maxConsumers:   opts.MaxChannelConsumers,
		e2eQuantiles:   opts.E2EProcessingLatencyPercentiles,
		e2eWindow:      opts.E2EProcessingLatencyWindowTime,
		log:            n.log,
		topologyAware:  opts.hasExperiment(experimentTopologyAware),
		topologyZone:   opts.TopologyZone,
		topologyRegion: opts.TopologyRegion,
		nodeID:         opts.ID,
		maxAttempts:    uint16(opts.MaxAttempts),
		onDiskError:    n.setHealth,
		onDiskOK:       n.clearHealth,
		room:           newDiskRoom(opts.DataPath, opts.MaxBytesPerFile),
		disk: storage.DiskOptions{
			DataPath:        opts.DataPath,
			MaxBytesPerFile: opts.MaxBytesPerFile,
			MinMsgSize:      msgHeaderLength,
			MaxMsgSize:      int32(opts.MaxMsgSize) + msgHeaderLength,
			SyncEvery:       opts.SyncEvery,
			SyncTimeout:     opts.SyncTimeout,
			Log:             n.log,
		},
	}
	n.env.onDeadLetter = n.deadLetter
	if n.tcpListener, err = httpapi.Listen(opts.TCPAddress); err != nil {
		return nil, fmt.Errorf("listen (%s) failed: %w", opts.TCPAddress, err)
	}
	if opts.HTTPAddress != "" {
		if n.httpListener, err = httpapi.Listen(opts.HTTPAddress); err != nil {
			return nil, fmt.Errorf("listen (%s) failed: %w", opts.HTTPAddress, err)
		}
	}
	if n.tlsConfig != nil && opts.HTTPSAddress != "" {
		l, err := httpapi.Listen(opts.HTTPSAddress)
		if err != nil {
			return nil, fmt.Errorf("listen (%s) failed: %w", opts.HTTPSAddress, err)
		}
		n.httpsListener = tls.NewListener(l, n.tlsConfig)
	}
	n.lookup = newLookupPeers(lookupConfig{
		addrs:         opts.NSQLookupdTCPAddresses,
		pingInterval:  opts.LookupdPingInterval,
		identity:      n.identityForLookupd(),
		httpClient:    n.httpClient,
		log:           n.log,
		exitCh:        n.exitCh,
		registrations: n.lookupdRegistrations,
	})
	if opts.Storage == StorageLog {
		if n.lm, err = openLogMode(n, replCfg); err != nil {
			return nil, err
		}
		n.env.lm = n.lm
		err = n.loadFromLog()
	} else {
		err = n.loadMetadata()
	}
	if err != nil {
		return nil, err
	}
	if err = n.persistMetadata(); err != nil {
		return nil, fmt.Errorf("failed to persist metadata: %w", err)
	}
	return n, nil
}

// RealTCPAddr is the bound TCP address.
func (n *NSQD) RealTCPAddr() net.Addr { return n.tcpListener.Addr() }

// RealHTTPAddr is the bound HTTP address, or nil without an HTTP listener.
func (n *NSQD) RealHTTPAddr() net.Addr {
	if n.httpListener == nil {
		return nil
	}
	return n.httpListener.Addr()
}

// RealHTTPSAddr is the bound HTTPS address, or nil without TLS.
func (n *NSQD) RealHTTPSAddr() net.Addr {
	if n.httpsListener == nil {
		return nil
	}
	return n.httpsListener.Addr()
}

// Main serves until Exit is called. It returns an error if a listener
// fails for a reason other than Exit.
func (n *NSQD) Main() error {
	errc := make(chan error, 4)
	n.spawn(func() {
		if err := n.acceptLoop(); err != nil {
			errc <- err
		}
	})
	httpErrLog := func(f string, args ...any) { n.log.Logf(lg.ERROR, "HTTP: "+f, args...) }
	for _, l := range []net.Listener{n.httpListener, n.httpsListener} {
		if l == nil {
			continue
		}
		hs := newHTTPServer(n, l == n.httpsListener)
		srv := httpapi.NewServer(hs, httpErrLog)
		if l == n.httpListener {
			// the fast path reads each connection first (http_fast.go)
			fast := newFastHTTP(hs, l)
			n.spawn(func() {
				if err := fast.acceptLoop(); err != nil {
					errc <- err
				}
			})
			l = fast
		}
		n.spawn(func() {
			if err := httpapi.Serve(srv, l); err != nil {
				errc <- err
			}
		}, srv)
	}
	n.spawn(n.queueScanLoop)
	n.spawn(n.lookup.loop)
	n.spawn(n.metadataLoop)
	if n.lm != nil {
		n.spawn(n.logHousekeeping)
	}
	if n.lm != nil && n.lm.repl != nil {
		n.spawn(n.replWatch)
		n.spawn(n.replReconcile)
	}
	if n.opts.StatsdAddress != "" {
		n.spawn(n.statsdLoop)
	}
	select {
	case <-n.exitCh:
		return nil
	case err := <-errc:
		return err
	}
}

// spawn runs f on a goroutine that Exit waits for, unless Exit has begun;
// srv, if given, is an HTTP server Exit must close.
func (n *NSQD) spawn(f func(), srv ...*http.Server) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.exiting {
		return
	}
	n.httpServers = append(n.httpServers, srv...)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// Exit stops the daemon: listeners close, clients are disconnected, every
// queued, in-flight and deferred message is written to disk and nsqd.dat
// is saved.
func (n *NSQD) Exit() {
	n.exitOnce.Do(n.exit)
}

func (n *NSQD) exit() {
	n.closeListeners()
	n.mu.Lock()
	n.exiting = true
	servers := n.httpServers
	n.mu.Unlock()
	for _, srv := range servers {
		srv.Close() // also drops keep-alive connections
	}

	n.closeConns()

	if err := n.persistMetadata(); err != nil {
		n.log.Logf(lg.ERROR, "failed to persist metadata: %s", err)
	}
	n.mu.RLock()
	topics := make([]*Topic, 0, len(n.topics))
	for _, t := range n.topics {
		topics = append(topics, t)
	}
	n.mu.RUnlock()
	for _, t := range topics {
		if err := t.close(); err != nil {
			n.log.Logf(lg.ERROR, "TOPIC(%s): close failed: %s", t.name, err)
		}
	}
	close(n.exitCh)
	n.wg.Wait()
	if n.lm != nil {
		n.lm.close()
	}
	n.unlockDataDir()
	n.log.Logf(lg.INFO, "NSQ: bye")
}

func (n *NSQD) closeListeners() {
	for _, l := range []net.Listener{n.tcpListener, n.httpListener, n.httpsListener} {
		if l != nil {
			l.Close()
		}
	}
}

func (n *NSQD) isExiting() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.exiting
}

func (n *NSQD) tlsRequiredTCP() bool { return n.tlsRequired != TLSNotRequired }

// GetTopic returns the named topic, creating it if needed. A new topic
// first creates the channels nsqlookupd knows for it, then starts.
func (n *NSQD) GetTopic(name string) (*Topic, error) { return n.getTopic(name, true) }

// getTopic is GetTopic; with propose false a new logged topic is not
// proposed to the log (a replica of a topic another group's log holds).
func (n *NSQD) getTopic(name string, propose bool) (*Topic, error) {
	n.mu.RLock()
	t, ok := n.topics[name]
	n.mu.RUnlock()
	if ok {
		return t, nil
	}
	if propose && n.lm.logged(name) && !n.loading.Load() {
		if err := n.lm.ensureTopic(name); err != nil {
			return nil, err
		}
	}
	n.mu.Lock()
	if n.exiting {
		n.mu.Unlock()
		return nil, errExiting
	}
	if t, ok = n.topics[name]; ok {
		n.mu.Unlock()
		return t, nil
	}
	t = newTopic(name, n.env, n.topicHooks())
	n.topics[name] = t
	n.mu.Unlock()
	n.log.Logf(lg.INFO, "TOPIC(%s): created", name)

	if n.loading.Load() {
		return t, nil // the loader starts it once its channels exist
	}
	for _, ch := range n.lookup.channelsFor(name) {
		if !propose {
			break // a replica: its channels come from the log
		}
		if !names.IsEphemeral(ch) && names.IsValidChannelName(ch) {
			t.GetChannel(ch)
		}
	}
	t.start()
	n.lookup.notify(lookupRegister, name, "")
	if !t.ephemeral {
		n.markMetadataDirty()
	}
	return t, nil
}

// GetExistingTopic returns the named topic if it exists.
func (n *NSQD) GetExistingTopic(name string) (*Topic, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	t, ok := n.topics[name]
	if !ok {
		return nil, errTopicNotFound
	}
	return t, nil
}

// DeleteExistingTopic deletes a topic with its channels and data. The
// topic is marked exiting before it leaves the map, so a racing publish
// fails with "exiting".
func (n *NSQD) DeleteExistingTopic(name string) error {
	t, err := n.GetExistingTopic(name)
	if err != nil {
		return err
	}
	n.log.Logf(lg.INFO, "TOPIC(%s): deleting", name)
	t.delete()
	n.mu.Lock()
	if n.topics[name] == t {
		delete(n.topics, name)
	}
	n.mu.Unlock()
	n.lookup.notify(lookupUnregister, name, "")
	n.markMetadataDirty()
	return nil
}

func (n *NSQD) topicHooks() topicHooks {
	return topicHooks{
		channelCreated: func(t *Topic, c *Channel) {
			n.chanGen.Add(1)
			n.lookup.notify(lookupRegister, t.name, c.name)
			if !c.ephemeral && !n.loading.Load() {
				n.markMetadataDirty()
			}
		},
		channelDeleted: func(t *Topic, c *Channel) {
			n.chanGen.Add(1)
			n.lookup.notify(lookupUnregister, t.name, c.name)
			if !c.ephemeral {
				n.markMetadataDirty()
			}
		},
		lastChannelGone: func(t *Topic) {
			go n.DeleteExistingTopic(t.name)
		},
	}
}

// topicList returns the topics sorted by name.
func (n *NSQD) topicList() []*Topic {
	n.mu.RLock()
	list := make([]*Topic, 0, len(n.topics))
	for _, t := range n.topics {
		list = append(list, t)
	}
	n.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

func (n *NSQD) setHealth(err error) {
	n.healthMu.Lock()
	n.healthErr = err
	n.healthMu.Unlock()
}

func (n *NSQD) clearHealth() {
	n.healthMu.RLock()
	bad := n.healthErr != nil
	n.healthMu.RUnlock()
	if bad {
		n.setHealth(nil)
	}
}

// health returns "OK" or "NOK - <last disk error>", or, replicated,
// "NOK - replication group G has no quorum ..." while a group this node
// serves has none (replication_health.go; checked on each call, so it
// recovers as soon as the group does).
func (n *NSQD) health() (string, bool) {
	n.healthMu.RLock()
	err := n.healthErr
	n.healthMu.RUnlock()
	if err != nil {
		return "NOK - " + err.Error(), false
	}
	if n.lm != nil && n.lm.repl != nil {
		if problem := n.lm.repl.quorumHealth(); problem != "" {
			return "NOK - " + problem, false
		}
	}
	return "OK", true
}

// buildTLSConfig returns the server TLS config, or nil without a cert.
func buildTLSConfig(opts *Options) (*tls.Config, error) {
	if opts.TLSCert == "" && opts.TLSKey == "" {
		return nil, nil
	}
	cfg, err := tlsconf.Server(opts.tlsFiles())
	if err != nil {
		return nil, err
	}
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.MinVersion = uint16(opts.TLSMinVersion)
	switch opts.TLSClientAuthPolicy {
	case "require":
		cfg.ClientAuth = tls.RequireAnyClientCert
	case "require-verify":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
