package main

import (
	"flag"
	"io"
	"os"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/internal/daemonapp"
	"github.com/dropin/nsq/internal/gcpace"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/nsqd"
)

func flagSet(opts *nsqd.Options) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqd", flag.ContinueOnError)

	fs.Bool("version", false, "print version string")
	fs.String("config", "", "path to config file")

	level := opts.LogLevel
	fs.Var(&level, "log-level", "set log verbosity: debug, info, warn, error, or fatal")
	fs.String("log-prefix", opts.LogPrefix, "log message prefix")
	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")

	fs.Int64("node-id", opts.ID, "unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)")
	fs.Bool("worker-id", false, "[deprecated] use --node-id")

	fs.String("https-address", opts.HTTPSAddress, "<addr>:<port> to listen on for HTTPS clients")
	fs.String("http-address", opts.HTTPAddress, "<addr>:<port> to listen on for HTTP clients")
	fs.String("tcp-address", opts.TCPAddress, "<addr>:<port> to listen on for TCP clients")
	fs.Var(&cfg.StringList{}, "auth-http-address", "<addr>:<port> or a full url to query auth server (may be given multiple times)")
	fs.String("auth-http-request-method", opts.AuthHTTPRequestMethod, "HTTP method to use for auth server requests: get or post")
	fs.String("http-admin-token", opts.HTTPAdminToken, "require 'Authorization: Bearer <token>' on HTTP /topic/*, /channel/*, /config/* and /debug/* (default: open, as NSQ)")
	fs.Bool("http-auth-required", opts.HTTPAuthRequired, "require 'Authorization: Bearer <secret>' granted publish by the auth server on HTTP /pub and /mpub (needs --auth-http-address)")
	fs.String("broadcast-address", opts.BroadcastAddress, "address that will be registered with lookupd (defaults to the OS hostname)")
	fs.Int("broadcast-tcp-port", opts.BroadcastTCPPort, "TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)")
	fs.Int("broadcast-http-port", opts.BroadcastHTTPPort, "HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)")
	fs.Var(&cfg.StringList{}, "lookupd-tcp-address", "lookupd TCP address (may be given multiple times)")
	fs.Duration("http-client-connect-timeout", opts.HTTPClientConnectTimeout, "timeout for HTTP connect")
	fs.Duration("http-client-request-timeout", opts.HTTPClientRequestTimeout, "timeout for HTTP request")
	fs.String("topology-region", opts.TopologyRegion, "region this nsqd is in (reported to clients and lookupd)")
	fs.String("topology-zone", opts.TopologyZone, "availability zone this nsqd is in (reported to clients and lookupd)")

	// diskqueue options
	fs.String("data-path", opts.DataPath, "path to store disk-backed messages")
	fs.Int64("mem-queue-size", opts.MemQueueSize, "number of messages to keep in memory (per topic/channel)")
	fs.Int64("max-bytes-per-file", opts.MaxBytesPerFile, "number of bytes per diskqueue file before rolling")
	fs.Int64("sync-every", opts.SyncEvery, "number of messages per diskqueue fsync")
	fs.Duration("sync-timeout", opts.SyncTimeout, "duration of time per diskqueue fsync")
	fs.String("storage", opts.Storage, "message storage: diskqueue (NSQ's files; the default) or log (durable log engine; the default with --sync-ack or --replication-peers, which refuse diskqueue; see README)")
	retention := opts.LogRetention
	fs.Var(&retention, "log-retention", "with --storage=log, keep finished log segments for replay: a duration (72h), a size (10GiB, 500MB) or both (72h,10GiB: kept while either holds); 0 deletes them once every channel finished")
	fs.Bool("sync-ack", opts.SyncAck, "answer PUB/MPUB/DPUB and HTTP /pub, /mpub only once the messages are fsynced (implies --storage=log)")
	fs.String("replication-peers", opts.ReplicationPeers, "replicated cluster: every node as <node-id>=<host>:<port> of its replication address, comma separated, the same list on every node (implies --storage=log and --sync-ack; see README)")
	fs.String("replication-address", opts.ReplicationAddress, "<addr>:<port> this node's replication listener (its entry in --replication-peers)")
	fs.Int("replication-factor", opts.ReplicationFactor, "nodes holding each node's log: the node and the next ones of --replication-peers (default 3, at most the number of peers)")
	fs.Duration("replication-propose-timeout", opts.ReplicationProposeTimeout, "how long a replicated publish waits for a quorum before E_PUB_FAILED / HTTP 503")
	fs.Int64("replication-snapshot-entries", opts.ReplicationSnapshotEntries, "a replicated group snapshots its state and compacts its log after this many entries (0: 50000)")
	fs.Int64("log-segment-bytes", opts.LogSegmentBytes, "size of a log segment file (--storage=log and replicated groups; 0: 64 MiB); compaction removes whole segments")

	fs.Int("queue-scan-worker-pool-max", opts.QueueScanWorkerPoolMax, "max concurrency for checking in-flight and deferred message timeouts")
	fs.Int("queue-scan-selection-count", opts.QueueScanSelectionCount, "number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts")

	// msg and command options
	fs.Duration("msg-timeout", opts.MsgTimeout, "default duration to wait before auto-requeing a message")
	fs.Duration("max-msg-timeout", opts.MaxMsgTimeout, "maximum duration before a message will timeout")
	fs.Int64("max-msg-size", opts.MaxMsgSize, "maximum size of a single message in bytes")
	fs.Duration("max-req-timeout", opts.MaxReqTimeout, "maximum requeuing timeout for a message")
	fs.Int64("max-body-size", opts.MaxBodySize, "maximum size of a single command body")

	// client overridable configuration options
	fs.Duration("max-heartbeat-interval", opts.MaxHeartbeatInterval, "maximum client configurable duration of time between client heartbeats")
	fs.Int64("max-rdy-count", opts.MaxRdyCount, "maximum RDY count for a client")
	fs.Int64("max-output-buffer-size", opts.MaxOutputBufferSize, "maximum client configurable size (in bytes) for a client output buffer")
	fs.Duration("max-output-buffer-timeout", opts.MaxOutputBufferTimeout, "maximum client configurable duration of time between flushing to a client")
	fs.Duration("min-output-buffer-timeout", opts.MinOutputBufferTimeout, "minimum client configurable duration of time between flushing to a client")
	fs.Duration("output-buffer-timeout", opts.OutputBufferTimeout, "default duration of time between flushing data to clients")
	fs.Int("max-channel-consumers", opts.MaxChannelConsumers, "maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)")
	fs.Int("max-attempts", opts.MaxAttempts, "deliveries of a message before it goes to the channel's dead-letter topic (<topic>.dead) instead (default 0, i.e., unlimited)")
	fs.Int("max-connections", opts.MaxConnections, "maximum concurrent TCP connections; extra ones are refused with an error (default 0, i.e., unlimited)")

	// statsd integration options
	fs.String("statsd-address", opts.StatsdAddress, "UDP <addr>:<port> of a statsd daemon for pushing stats")
	fs.Duration("statsd-interval", opts.StatsdInterval, "duration between pushing to statsd")
	fs.Bool("statsd-mem-stats", opts.StatsdMemStats, "toggle sending memory and GC stats to statsd")
	fs.String("statsd-prefix", opts.StatsdPrefix, "prefix used for keys sent to statsd (%s for host replacement)")
	fs.Int("statsd-udp-packet-size", opts.StatsdUDPPacketSize, "the size in bytes of statsd UDP packets")
	fs.Bool("statsd-exclude-ephemeral", opts.StatsdExcludeEphemeral, "skip ephemeral topics and channels when sending stats to statsd")
	fs.Bool("metrics-exclude-ephemeral", opts.MetricsExcludeEphemeral, "leave ephemeral topics and channels out of GET /metrics")

	// end to end percentile flags
	fs.Var(&cfg.FloatList{}, "e2e-processing-latency-percentile", "message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.95', default none)")
	fs.Duration("e2e-processing-latency-window-time", opts.E2EProcessingLatencyWindowTime, "calculate end to end latency quantiles for this duration of time (ie: 60s would only show quantile calculations from the past 60 seconds)")

	// TLS config
	fs.String("tls-cert", opts.TLSCert, "path to certificate file")
	fs.String("tls-key", opts.TLSKey, "path to key file")
	fs.String("tls-client-auth-policy", opts.TLSClientAuthPolicy, "client certificate auth policy ('require' or 'require-verify')")
	fs.String("tls-root-ca-file", opts.TLSRootCAFile, "path to certificate authority file")
	tlsRequired := opts.TLSRequired
	fs.Var(&tlsRequired, "tls-required", "require TLS for client connections (true, false, tcp-https)")
	tlsMinVersion := opts.TLSMinVersion
	fs.Var(&tlsMinVersion, "tls-min-version", "minimum SSL/TLS version acceptable ('ssl3.0', 'tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')")

	// compression
	fs.Bool("deflate", opts.DeflateEnabled, "enable deflate feature negotiation (client compression)")
	fs.Int("max-deflate-level", opts.MaxDeflateLevel, "max deflate compression level a client can negotiate (> values == > nsqd CPU usage)")
	fs.Bool("snappy", opts.SnappyEnabled, "enable snappy feature negotiation (client compression)")

	fs.Var(&cfg.StringList{}, "enable-experiment", "enable experimental feature (may be given multiple times): topology-aware-consumption")
	return fs
}

func main() {
	// a light nsqd keeps a small heap; GOGC or GOMEMLIMIT in the
	// environment turn this off (see internal/gcpace)
	gcpace.Start(gcpace.Default)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, daemonapp.Signals()))
}

// run is the whole program; it returns the exit status.
func run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	opts := nsqd.NewOptions()
	fs := flagSet(opts)
	return daemonapp.App{
		Name:      "nsqd",
		FlagSet:   fs,
		Options:   opts,
		LogPrefix: func() string { return opts.LogPrefix },
		Start: func(logger lg.Logger) (daemonapp.Daemon, error) {
			opts.Logger = logger
			return nsqd.New(opts)
		},
	}.Run(args, stdout, stderr, signals)
}
