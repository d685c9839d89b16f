package nsqadmin

import "github.com/dropin/nsq/internal/clusterinfo"

// The types below are what nsqadmin serves under /api; their JSON field
// names and shapes are NSQ's (see the package doc). The upstream types
// (what nsqd and nsqlookupd send) are internal/clusterinfo's.

// Producer is one nsqd as nsqadmin knows it: from nsqlookupd's /nodes or
// /lookup, or from the nsqd's own /info.
type Producer struct {
	RemoteAddresses []string `json:"remote_addresses"`
	clusterinfo.Identity
	TopologyZone   string          `json:"topology_zone,omitempty"`
	TopologyRegion string          `json:"topology_region,omitempty"`
	Topics         []ProducerTopic `json:"topics"`
	OutOfDate      bool            `json:"out_of_date"`

	// addr is where nsqadmin sends this node's requests: the configured
	// --nsqd-http-address in nsqd mode (the broadcast address may not
	// resolve from here), else "" for HTTPAddress().
	addr string
}

// callAddress is the host:port nsqadmin sends this node's requests to.
func (p *Producer) callAddress() string {
	if p.addr != "" {
		return p.addr
	}
	return p.HTTPAddress()
}

// ProducerTopic is a topic of a node in /api/nodes.
type ProducerTopic struct {
	Topic      string `json:"topic"`
	Tombstoned bool   `json:"tombstoned"`
}

// TopicStats is a topic on one node (Node = "addr:port") or summed over
// the cluster (Node = "*", with the per-node entries in Nodes).
type TopicStats struct {
	Node                string          `json:"node"`
	Hostname            string          `json:"hostname"`
	TopicName           string          `json:"topic_name"`
	Depth               int64           `json:"depth"`
	MemoryDepth         int64           `json:"memory_depth"`
	BackendDepth        int64           `json:"backend_depth"`
	MessageCount        int64           `json:"message_count"`
	DeliveryMsgCount    int64           `json:"delivery_msg_count"`
	ZoneLocalMsgCount   int64           `json:"zone_local_msg_count,omitempty"`
	RegionLocalMsgCount int64           `json:"region_local_msg_count,omitempty"`
	GlobalMsgCount      int64           `json:"global_msg_count,omitempty"`
	Nodes               []*TopicStats   `json:"nodes"`
	Channels            []*ChannelStats `json:"channels"`
	Paused              bool            `json:"paused"`
	E2E                 *E2ELatency     `json:"e2e_processing_latency"`

	// replay is ours (from our nsqd; empty from NSQ's), served by
	// /api/replay/:topic and kept out of NSQ's shapes
	replay TopicReplay
}

// TopicReplay is whether a node can replay a topic: its storage ("log",
// "diskqueue", or "" from an nsqd that does not say, such as NSQ's), in
// log mode the publish time of its oldest retained message (unix ms, 0
// for none), and whether the node replicates (our nsqd refuses replay
// then). Beyond NSQ.
type TopicReplay struct {
	Node           string `json:"node"`
	Storage        string `json:"storage"`
	RetainedFromMs int64  `json:"retained_from_ms"`
	Replicated     bool   `json:"replicated"`
}

// canReplay reports whether the node takes replay calls.
func (r TopicReplay) canReplay() bool {
	return r.Storage == clusterinfo.StorageLog && !r.Replicated
}

// ChannelStats is a channel on one node or summed over the cluster
// (Node = "*", per-node entries in Nodes, all clients in Clients).
type ChannelStats struct {
	Node                string          `json:"node"`
	Hostname            string          `json:"hostname"`
	TopicName           string          `json:"topic_name"`
	ChannelName         string          `json:"channel_name"`
	Depth               int64           `json:"depth"`
	MemoryDepth         int64           `json:"memory_depth"`
	BackendDepth        int64           `json:"backend_depth"`
	InFlightCount       int64           `json:"in_flight_count"`
	DeferredCount       int64           `json:"deferred_count"`
	RequeueCount        int64           `json:"requeue_count"`
	TimeoutCount        int64           `json:"timeout_count"`
	MessageCount        int64           `json:"message_count"`
	DeliveryMsgCount    int64           `json:"delivery_msg_count,omitempty"`
	ZoneLocalMsgCount   int64           `json:"zone_local_msg_count,omitempty"`
	RegionLocalMsgCount int64           `json:"region_local_msg_count,omitempty"`
	GlobalMsgCount      int64           `json:"global_msg_count,omitempty"`
	ClientCount         int             `json:"client_count"`
	Nodes               []*ChannelStats `json:"nodes"`
	Clients             []*ClientStats  `json:"clients"`
	Paused              bool            `json:"paused"`
	E2E                 *E2ELatency     `json:"e2e_processing_latency"`

	// lag is ours (from our nsqd; zero from NSQ's), served by
	// /api/topics/:topic/lag and kept out of NSQ's shapes
	lag ChannelLag
}

// ChannelLag is a channel's lag and dead-letter figures, on one node or
// over all nodes (the oldest age and highest limit of the nodes, their
// merged FIN latency and summed dead letters). Beyond NSQ.
type ChannelLag struct {
	Node            string       `json:"node"`
	ChannelName     string       `json:"channel_name"`
	OldestMsgAgeMs  int64        `json:"oldest_msg_age_ms"`
	FinLatency      *E2ELatency  `json:"fin_latency"`
	MaxAttempts     int64        `json:"max_attempts"`
	DeadLetterTopic string       `json:"dead_letter_topic"`
	DeadLetterCount int64        `json:"dead_letter_count"`
	Nodes           []ChannelLag `json:"nodes,omitempty"`
}

// ClientStats is one consumer connection as nsqadmin serves it.
type ClientStats struct {
	Node                          string `json:"node"`
	RemoteAddress                 string `json:"remote_address"`
	Version                       string `json:"version"`
	ClientID                      string `json:"client_id"`
	Hostname                      string `json:"hostname"`
	UserAgent                     string `json:"user_agent"`
	ConnectTs                     int64  `json:"connect_ts"`
	Connected                     int64  `json:"connected"` // ns since connect_ts
	InFlightCount                 int64  `json:"in_flight_count"`
	ReadyCount                    int64  `json:"ready_count"`
	FinishCount                   int64  `json:"finish_count"`
	RequeueCount                  int64  `json:"requeue_count"`
	MessageCount                  int64  `json:"message_count"`
	SampleRate                    int64  `json:"sample_rate"`
	Deflate                       bool   `json:"deflate"`
	Snappy                        bool   `json:"snappy"`
	Authed                        bool   `json:"authed"`
	AuthIdentity                  string `json:"auth_identity"`
	AuthIdentityURL               string `json:"auth_identity_url"`
	NodeTopologyRegion            string `json:"node_topology_region,omitempty"`
	NodeTopologyZone              string `json:"node_topology_zone,omitempty"`
	TopologyRegion                string `json:"topology_region,omitempty"`
	TopologyZone                  string `json:"topology_zone,omitempty"`
	TLS                           bool   `json:"tls"`
	TLSCipherSuite                string `json:"tls_cipher_suite"`
	TLSVersion                    string `json:"tls_version"`
	TLSNegotiatedProtocol         string `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool   `json:"tls_negotiated_protocol_is_mutual"`
}

// E2ELatency is an end-to-end processing latency summary, per node or
// merged over nodes (Host = "*").
type E2ELatency struct {
	Count       int64         `json:"count"`
	Percentiles []*Percentile `json:"percentiles"`
	Topic       string        `json:"topic"`
	Channel     string        `json:"channel"`
	Host        string        `json:"host"`
}

// Percentile is one quantile of an E2ELatency. Value is set on per-node
// entries only; merged entries carry min, max and a count-weighted average.
type Percentile struct {
	Quantile float64  `json:"quantile"`
	Value    *float64 `json:"value,omitempty"`
	Min      float64  `json:"min"`
	Max      float64  `json:"max"`
	Average  float64  `json:"average"`
	Count    int64    `json:"count"`
}

// CounterStats is one entry of /api/counter.
type CounterStats struct {
	Node         string `json:"node"`
	TopicName    string `json:"topic_name"`
	ChannelName  string `json:"channel_name"`
	MessageCount int64  `json:"message_count"`
}
