package nsqd

import (
	"crypto/md5"
	"crypto/tls"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/tlsconf"
)

// Options configures an NSQD. NewOptions returns NSQ's defaults; the nsqd
// app overlays the command line and config file (see internal/cfg). Fields
// with a flag tag are options an operator can set; the rest are fixed in
// NSQ and exposed here only so tests can shorten them.
type Options struct {
	ID        int64    `flag:"node-id" cfg:"id"`
	LogLevel  lg.Level `flag:"log-level"`
	LogPrefix string   `flag:"log-prefix"`
	Logger    lg.Logger

	TCPAddress             string   `flag:"tcp-address"`
	HTTPAddress            string   `flag:"http-address"`
	HTTPSAddress           string   `flag:"https-address"`
	BroadcastAddress       string   `flag:"broadcast-address"`
	BroadcastTCPPort       int      `flag:"broadcast-tcp-port"`
	BroadcastHTTPPort      int      `flag:"broadcast-http-port"`
	NSQLookupdTCPAddresses []string `flag:"lookupd-tcp-address" cfg:"nsqlookupd_tcp_addresses"`
	AuthHTTPAddresses      []string `flag:"auth-http-address" cfg:"auth_http_addresses"`
	AuthHTTPRequestMethod  string   `flag:"auth-http-request-method"`
	// HTTPAdminToken, when set, is required as "Authorization: Bearer
	// <token>" on the HTTP admin routes (/topic/*, /channel/*, /config/*,
	// /debug/*). Beyond NSQ; empty (the default) leaves them open.
	HTTPAdminToken string `flag:"http-admin-token"`
	// HTTPAuthRequired makes HTTP /pub and /mpub require "Authorization:
	// Bearer <secret>" with a secret the auth server grants publish on the
	// topic (or the admin token). Needs --auth-http-address. Beyond NSQ.
	HTTPAuthRequired         bool          `flag:"http-auth-required"`
	HTTPClientConnectTimeout time.Duration `flag:"http-client-connect-timeout"`
	HTTPClientRequestTimeout time.Duration `flag:"http-client-request-timeout"`
	LookupdPingInterval      time.Duration // fixed at 15s in NSQ
	TopologyRegion           string        `flag:"topology-region"`
	TopologyZone             string        `flag:"topology-zone"`

	// diskqueue options
	DataPath        string        `flag:"data-path"`
	MemQueueSize    int64         `flag:"mem-queue-size"`
	MaxBytesPerFile int64         `flag:"max-bytes-per-file"`
	SyncEvery       int64         `flag:"sync-every"`
	SyncTimeout     time.Duration `flag:"sync-timeout"`

	// Storage is "diskqueue" (NSQ's files), "log" (the durable log
	// engine, see logmode.go) or "" (the default: "log" when SyncAck or
	// ReplicationPeers ask for it, else "diskqueue"; resolveStorage).
	// SyncAck answers publishes only once they are fsynced; it needs
	// Storage "log", and an explicit "diskqueue" with it is refused.
	Storage string `flag:"storage"`
	SyncAck bool   `flag:"sync-ack"`
	// LogRetention keeps finished log segments for replay (--storage=log
	// only; see retention.go). Zero: delete once every channel finished.
	LogRetention LogRetention `flag:"log-retention"`
	// LogSegmentBytes is the log's segment size, also of each replicated
	// group's log (0: the engine's 64 MiB). Compaction removes whole
	// segments; tests use small ones to see segments roll and go.
	LogSegmentBytes int64 `flag:"log-segment-bytes"`

	// Replication (replication_opts.go): ReplicationPeers is
	// "1=HOST:PORT,2=HOST:PORT,..." (ids are --node-id values, the same
	// list on every node), ReplicationAddress this node's entry of it,
	// ReplicationFactor the members per group (default 3, or fewer peers).
	// Peers imply SyncAck and Storage "log".
	ReplicationPeers   string `flag:"replication-peers"`
	ReplicationAddress string `flag:"replication-address"`
	ReplicationFactor  int    `flag:"replication-factor"`
	// ReplicationProposeTimeout bounds how long a replicated publish waits
	// for its commit before E_PUB_FAILED / HTTP 503 (default 5s).
	ReplicationProposeTimeout time.Duration `flag:"replication-propose-timeout"`
	// ReplicationSnapshotEntries: each group snapshots its state and
	// compacts its log after this many applied entries (0: 50000;
	// replication.go).
	ReplicationSnapshotEntries int64 `flag:"replication-snapshot-entries"`

	QueueScanInterval        time.Duration
	QueueScanRefreshInterval time.Duration
	QueueScanSelectionCount  int `flag:"queue-scan-selection-count"`
	QueueScanWorkerPoolMax   int `flag:"queue-scan-worker-pool-max"`
	QueueScanDirtyPercent    float64

	// msg and command options
	MsgTimeout    time.Duration `flag:"msg-timeout"`
	MaxMsgTimeout time.Duration `flag:"max-msg-timeout"`
	MaxMsgSize    int64         `flag:"max-msg-size"`
	MaxBodySize   int64         `flag:"max-body-size"`
	MaxReqTimeout time.Duration `flag:"max-req-timeout"`
	ClientTimeout time.Duration

	// client overridable configuration options
	MaxHeartbeatInterval   time.Duration `flag:"max-heartbeat-interval"`
	MaxRdyCount            int64         `flag:"max-rdy-count"`
	MaxOutputBufferSize    int64         `flag:"max-output-buffer-size"`
	MaxOutputBufferTimeout time.Duration `flag:"max-output-buffer-timeout"`
	MinOutputBufferTimeout time.Duration `flag:"min-output-buffer-timeout"`
	OutputBufferTimeout    time.Duration `flag:"output-buffer-timeout"`
	MaxChannelConsumers    int           `flag:"max-channel-consumers"`
	// MaxConnections caps concurrent TCP connections (0 = unlimited, as
	// NSQ); extra ones get an error frame and are closed. Beyond NSQ.
	MaxConnections int `flag:"max-connections"`
	// MaxAttempts is how many deliveries a message gets before it goes to
	// its channel's dead-letter topic instead (0 = unlimited, as NSQ).
	// Channels can override it with POST /channel/config. Beyond NSQ.
	MaxAttempts int `flag:"max-attempts"`
	// MetricsExcludeEphemeral leaves #ephemeral topics and channels out
	// of GET /metrics. Beyond NSQ.
	MetricsExcludeEphemeral bool `flag:"metrics-exclude-ephemeral"`

	// statsd integration
	StatsdAddress          string        `flag:"statsd-address"`
	StatsdPrefix           string        `flag:"statsd-prefix"`
	StatsdInterval         time.Duration `flag:"statsd-interval"`
	StatsdMemStats         bool          `flag:"statsd-mem-stats"`
	StatsdUDPPacketSize    int           `flag:"statsd-udp-packet-size"`
	StatsdExcludeEphemeral bool          `flag:"statsd-exclude-ephemeral"`

	// e2e message latency
	E2EProcessingLatencyWindowTime  time.Duration `flag:"e2e-processing-latency-window-time"`
	E2EProcessingLatencyPercentiles []float64     `flag:"e2e-processing-latency-percentile" cfg:"e2e_processing_latency_percentiles"`

	// TLS config
	TLSCert             string      `flag:"tls-cert"`
	TLSKey              string      `flag:"tls-key"`
	TLSClientAuthPolicy string      `flag:"tls-client-auth-policy"`
	TLSRootCAFile       string      `flag:"tls-root-ca-file"`
	TLSRequired         TLSRequired `flag:"tls-required"`
	TLSMinVersion       TLSVersion  `flag:"tls-min-version"`

	// compression
	DeflateEnabled  bool `flag:"deflate"`
	MaxDeflateLevel int  `flag:"max-deflate-level"`
	SnappyEnabled   bool `flag:"snappy"`

	Experiments []string `flag:"enable-experiment" cfg:"enable_experiment"`
}

// NewOptions returns NSQ v1.3.0's defaults.
func NewOptions() *Options {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "localhost"
	}
	h := md5.New()
	io.WriteString(h, hostname)
	defaultID := int64(crc32.ChecksumIEEE(h.Sum(nil)) % 1024)

	return &Options{
		ID:        defaultID,
		LogPrefix: "[nsqd] ",
		LogLevel:  lg.INFO,

		TCPAddress:       "0.0.0.0:4150",
		HTTPAddress:      "0.0.0.0:4151",
		HTTPSAddress:     "0.0.0.0:4152",
		BroadcastAddress: hostname,

		NSQLookupdTCPAddresses: []string{},
		AuthHTTPAddresses:      []string{},
		AuthHTTPRequestMethod:  "get",

		LookupdPingInterval:      15 * time.Second,
		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,

		MemQueueSize:    10000,
		MaxBytesPerFile: 100 * 1024 * 1024,
		SyncEvery:       2500,
		SyncTimeout:     2 * time.Second,

		QueueScanInterval:        100 * time.Millisecond,
		QueueScanRefreshInterval: 5 * time.Second,
		QueueScanSelectionCount:  20,
		QueueScanWorkerPoolMax:   4,
		QueueScanDirtyPercent:    0.25,

		MsgTimeout:    60 * time.Second,
		MaxMsgTimeout: 15 * time.Minute,
		MaxMsgSize:    1024 * 1024,
		MaxBodySize:   5 * 1024 * 1024,
		MaxReqTimeout: 1 * time.Hour,
		ClientTimeout: 60 * time.Second,

		MaxHeartbeatInterval:   60 * time.Second,
		MaxRdyCount:            2500,
		MaxOutputBufferSize:    64 * 1024,
		MaxOutputBufferTimeout: 30 * time.Second,
		MinOutputBufferTimeout: 25 * time.Millisecond,
		OutputBufferTimeout:    250 * time.Millisecond,

		StatsdPrefix:        "nsq.%s",
		StatsdInterval:      60 * time.Second,
		StatsdMemStats:      true,
		StatsdUDPPacketSize: 508,

		E2EProcessingLatencyWindowTime:  10 * time.Minute,
		E2EProcessingLatencyPercentiles: []float64{},

		TLSMinVersion: tls.VersionTLS10,

		DeflateEnabled:  true,
		MaxDeflateLevel: 6,
		SnappyEnabled:   true,

		Experiments: []string{},
	}
}

// TLSRequired is the --tls-required mode.
type TLSRequired int

// The --tls-required modes.
const (
	TLSNotRequired        TLSRequired = 0
	TLSRequiredExceptHTTP TLSRequired = 1 // "tcp-https": TCP needs TLS, plain HTTP stays open
	TLSRequiredAll        TLSRequired = 2 // "true"
)

// Set parses true, false or tcp-https.
func (t *TLSRequired) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "1", "t":
		*t = TLSRequiredAll
	case "false", "0", "f", "":
		*t = TLSNotRequired
	case "tcp-https":
		*t = TLSRequiredExceptHTTP
	default:
		return fmt.Errorf("invalid --tls-required %q (want true, false or tcp-https)", s)
	}
	return nil
}

func (t *TLSRequired) String() string {
	switch *t {
	case TLSRequiredAll:
		return "true"
	case TLSRequiredExceptHTTP:
		return "tcp-https"
	}
	return "false"
}

// Get implements flag.Getter.
func (t *TLSRequired) Get() any { return *t }

// IsBoolFlag lets a bare --tls-required mean true.
func (t *TLSRequired) IsBoolFlag() bool { return true }

// TLSVersion is a minimum TLS version such as tls.VersionTLS12.
type TLSVersion uint16

// Set parses tls1.0 .. tls1.3; "" leaves the value unchanged.
func (v *TLSVersion) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return nil
	case "tls1.0":
		*v = tls.VersionTLS10
	case "tls1.1":
		*v = tls.VersionTLS11
	case "tls1.2":
		*v = tls.VersionTLS12
	case "tls1.3":
		*v = tls.VersionTLS13
	default:
		return fmt.Errorf("unknown tls version %q (want tls1.0, tls1.1, tls1.2 or tls1.3)", s)
	}
	return nil
}

func (v *TLSVersion) String() string {
	switch uint16(*v) {
	case tls.VersionTLS10:
		return "tls1.0"
	case tls.VersionTLS11:
		return "tls1.1"
	case tls.VersionTLS12:
		return "tls1.2"
	case tls.VersionTLS13:
		return "tls1.3"
	}
	return ""
}

// Get implements flag.Getter.
func (v *TLSVersion) Get() any { return *v }

// experiment names accepted by --enable-experiment.
const experimentTopologyAware = "topology-aware-consumption"

func (o *Options) hasExperiment(name string) bool {
	for _, e := range o.Experiments {
		if e == name {
			return true
		}
	}
	return false
}

// tlsFiles names the TLS files for internal/tlsconf.
func (o *Options) tlsFiles() tlsconf.Files {
	return tlsconf.Files{
		Cert: o.TLSCert, Key: o.TLSKey, RootCA: o.TLSRootCAFile,
		CertFlag: "--tls-cert", KeyFlag: "--tls-key", RootCAFlag: "--tls-root-ca-file",
	}
}

// clone returns a copy that shares nothing mutable with o, so New can
// fill in defaults and PUT /config can change it without touching the
// caller's Options.
func (o *Options) clone() *Options {
	c := *o
	c.NSQLookupdTCPAddresses = append([]string{}, o.NSQLookupdTCPAddresses...)
	c.AuthHTTPAddresses = append([]string{}, o.AuthHTTPAddresses...)
	c.E2EProcessingLatencyPercentiles = append([]float64{}, o.E2EProcessingLatencyPercentiles...)
	c.Experiments = append([]string{}, o.Experiments...)
	return &c
}

// resolveStorage settles Storage (see Options.Storage): replication
// implies SyncAck, which implies the log. An explicit "diskqueue" (the flag
// or the config file's storage key) with either is refused rather than
// silently overridden: the operator asked for NSQ's files and would not get
// them.
func resolveStorage(o *Options) error {
	if o.ReplicationPeers != "" {
		if o.Storage == StorageDiskQueue {
			return fmt.Errorf("--replication-peers needs --storage=log (implied when --storage is not set), not --storage=%s (flag or config file): replicated messages live in the replicated log", o.Storage)
		}
		o.SyncAck = true // a replicated publish is answered once committed
	}
	if o.SyncAck {
		if o.Storage == StorageDiskQueue {
			return fmt.Errorf("--sync-ack needs --storage=log (implied when --storage is not set), not --storage=%s (flag or config file): only the log fsyncs before answering", o.Storage)
		}
		o.Storage = StorageLog
	}
	if o.Storage == "" {
		o.Storage = StorageDiskQueue
	}
	return nil
}

// validate checks option values, with messages that name the flag.
func (o *Options) validate() error {
	switch {
	case o.ID < 0 || o.ID >= 1024:
		return fmt.Errorf("--node-id must be [0,1024)")
	case o.MaxDeflateLevel < 1 || o.MaxDeflateLevel > 9:
		return fmt.Errorf("--max-deflate-level must be [1,9]")
	case o.AuthHTTPRequestMethod != "get" && o.AuthHTTPRequestMethod != "post":
		return fmt.Errorf("--auth-http-request-method must be post or get")
	case o.HTTPAuthRequired && len(o.AuthHTTPAddresses) == 0:
		return fmt.Errorf("--http-auth-required needs --auth-http-address")
	case o.Storage != StorageDiskQueue && o.Storage != StorageLog:
		return fmt.Errorf("--storage must be %s or %s, not %q", StorageDiskQueue, StorageLog, o.Storage)
	case !o.LogRetention.IsZero() && o.ReplicationPeers != "":
		return fmt.Errorf("--log-retention is not supported with --replication-peers yet: a replicated group compacts its log below what its channels still need")
	case o.ReplicationSnapshotEntries < 0:
		return fmt.Errorf("--replication-snapshot-entries must be >= 0")
	case o.LogSegmentBytes < 0:
		return fmt.Errorf("--log-segment-bytes must be >= 0")
	case !o.LogRetention.IsZero() && o.Storage != StorageLog:
		return fmt.Errorf("--log-retention=%s needs --storage=log: it keeps finished log segments for replay, and --storage=%s keeps no log", o.LogRetention, o.Storage)
	case o.MemQueueSize < 0:
		return fmt.Errorf("--mem-queue-size must be >= 0")
	case o.MaxMsgSize < 1:
		return fmt.Errorf("--max-msg-size must be > 0")
	case o.MaxBodySize < o.MaxMsgSize:
		return fmt.Errorf("--max-body-size (%d) must be >= --max-msg-size (%d)", o.MaxBodySize, o.MaxMsgSize)
	case o.MaxBytesPerFile < 1:
		return fmt.Errorf("--max-bytes-per-file must be > 0")
	case o.SyncEvery < 1:
		return fmt.Errorf("--sync-every must be > 0")
	case o.SyncTimeout <= 0:
		return fmt.Errorf("--sync-timeout must be > 0")
	case o.QueueScanSelectionCount < 1:
		return fmt.Errorf("--queue-scan-selection-count must be > 0")
	case o.QueueScanWorkerPoolMax < 1:
		return fmt.Errorf("--queue-scan-worker-pool-max must be > 0")
	case o.MsgTimeout < time.Millisecond:
		return fmt.Errorf("--msg-timeout must be >= 1ms")
	case o.MaxMsgTimeout < o.MsgTimeout:
		return fmt.Errorf("--max-msg-timeout (%s) must be >= --msg-timeout (%s)", o.MaxMsgTimeout, o.MsgTimeout)
	case o.MaxReqTimeout < 0:
		return fmt.Errorf("--max-req-timeout must be >= 0")
	case o.MaxHeartbeatInterval < time.Second:
		return fmt.Errorf("--max-heartbeat-interval must be >= 1s")
	case o.MaxRdyCount < 0:
		return fmt.Errorf("--max-rdy-count must be >= 0")
	case o.MaxOutputBufferSize < 64:
		return fmt.Errorf("--max-output-buffer-size must be >= 64")
	case o.MinOutputBufferTimeout <= 0 || o.MaxOutputBufferTimeout < o.MinOutputBufferTimeout:
		return fmt.Errorf("--min-output-buffer-timeout must be > 0 and <= --max-output-buffer-timeout")
	case o.OutputBufferTimeout < 0:
		return fmt.Errorf("--output-buffer-timeout must be >= 0")
	case o.MaxChannelConsumers < 0:
		return fmt.Errorf("--max-channel-consumers must be >= 0")
	case o.MaxConnections < 0:
		return fmt.Errorf("--max-connections must be >= 0")
	case o.MaxAttempts < 0 || o.MaxAttempts > 65535:
		return fmt.Errorf("--max-attempts must be [0,65535] (0 = unlimited)")
	case o.StatsdUDPPacketSize < 1:
		return fmt.Errorf("--statsd-udp-packet-size must be > 0")
	case o.StatsdAddress != "" && o.StatsdInterval <= 0:
		return fmt.Errorf("--statsd-interval must be > 0")
	case o.E2EProcessingLatencyWindowTime <= 0:
		return fmt.Errorf("--e2e-processing-latency-window-time must be > 0")
	case o.HTTPClientConnectTimeout <= 0 || o.HTTPClientRequestTimeout <= 0:
		return fmt.Errorf("--http-client-connect-timeout and --http-client-request-timeout must be > 0")
	case o.TLSRequired != TLSNotRequired && (o.TLSCert == "" || o.TLSKey == ""):
		return fmt.Errorf("cannot require TLS client connections without TLS key and cert")
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return fmt.Errorf("--tls-cert and --tls-key must be given together")
	case o.BroadcastTCPPort < 0 || o.BroadcastTCPPort > 65535 || o.BroadcastHTTPPort < 0 || o.BroadcastHTTPPort > 65535:
		return fmt.Errorf("--broadcast-tcp-port and --broadcast-http-port must be [0,65535]")
	}
	for _, p := range o.E2EProcessingLatencyPercentiles {
		if p <= 0 || p > 1 {
			return fmt.Errorf("invalid E2E processing latency percentile: %v", p)
		}
	}
	for _, e := range o.Experiments {
		if e != experimentTopologyAware {
			return fmt.Errorf("--enable-experiment: unknown experiment %q (only %s exists)", e, experimentTopologyAware)
		}
	}
	return nil
}
