package clusterinfo

import (
	"net"
	"strconv"
)

// The wire types below are what nsqlookupd and nsqd send over HTTP. They
// hold the fields this project reads or serves; decoding ignores the rest.

// Identity is who an nsqd is: where it listens, its hostname and its
// version, as nsqlookupd reports it. RemoteAddress is the address of its
// connection to the lookupd; nsqd's own /info has none.
type Identity struct {
	RemoteAddress    string `json:"remote_address"`
	Hostname         string `json:"hostname"`
	BroadcastAddress string `json:"broadcast_address"`
	TCPPort          int    `json:"tcp_port"`
	HTTPPort         int    `json:"http_port"`
	Version          string `json:"version"`
}

// HTTPAddress is broadcast_address:http_port, the key a node is known by.
func (id *Identity) HTTPAddress() string {
	return net.JoinHostPort(id.BroadcastAddress, strconv.Itoa(id.HTTPPort))
}

// TCPAddress is broadcast_address:tcp_port, the key nsqlookupd's /nodes
// entries are merged by.
func (id *Identity) TCPAddress() string {
	return net.JoinHostPort(id.BroadcastAddress, strconv.Itoa(id.TCPPort))
}

// Peer is an nsqd as nsqlookupd describes it (an entry of /lookup's
// "producers") and as nsqd describes itself in /info. nsqlookupd marshals
// its own peers with this type, so the field order is the order of its
// JSON.
type Peer struct {
	Identity
	TopologyZone   string `json:"topology_zone"`
	TopologyRegion string `json:"topology_region"`
}

// Node is one entry of nsqlookupd's /nodes: a Peer with the topics it
// produces and, at the same index, whether it is tombstoned for that topic.
type Node struct {
	Peer
	Tombstones []bool   `json:"tombstones"`
	Topics     []string `json:"topics"`
}

// lookupdTopics is nsqlookupd's GET /topics.
type lookupdTopics struct {
	Topics []string `json:"topics"`
}

// lookupdChannels is nsqlookupd's GET /channels?topic=.
type lookupdChannels struct {
	Channels []string `json:"channels"`
}

// lookupdLookup is nsqlookupd's GET /lookup?topic=.
type lookupdLookup struct {
	Channels  []string `json:"channels"`
	Producers []*Peer  `json:"producers"`
}

// lookupdNodes is nsqlookupd's GET /nodes.
type lookupdNodes struct {
	Producers []*Node `json:"producers"`
}

// Stats is nsqd's GET /stats?format=json.
type Stats struct {
	Version string        `json:"version"`
	Health  string        `json:"health"`
	Topics  []*TopicStats `json:"topics"`

	// ours (absent from NSQ's nsqd and when replication is off, then
	// nil): the consensus groups this node is a member of
	Replication *Replication `json:"replication"`
}

// HasTopic reports whether the stats list topic.
func (s *Stats) HasTopic(topic string) bool {
	for _, t := range s.Topics {
		if t != nil && t.TopicName == topic {
			return true
		}
	}
	return false
}

// TopicStats is a topic in nsqd's /stats.
type TopicStats struct {
	TopicName           string          `json:"topic_name"`
	Channels            []*ChannelStats `json:"channels"`
	Depth               int64           `json:"depth"`
	BackendDepth        int64           `json:"backend_depth"`
	MessageCount        int64           `json:"message_count"`
	Paused              bool            `json:"paused"`
	ZoneLocalMsgCount   int64           `json:"zone_local_msg_count"`
	RegionLocalMsgCount int64           `json:"region_local_msg_count"`
	GlobalMsgCount      int64           `json:"global_msg_count"`
	E2E                 E2E             `json:"e2e_processing_latency"`

	// ours (absent from NSQ's nsqd, then empty): where the topic keeps its
	// messages, StorageLog or StorageDiskQueue, and in log mode the
	// publish time (unix ms) of the oldest retained message, 0 for none
	Storage        string `json:"storage"`
	RetainedFromMs int64  `json:"retained_from_ms"`
}

// The values of TopicStats.Storage. Only a topic in StorageLog can be
// replayed (POST /channel/rewind, /channel/create?start=).
const (
	StorageLog       = "log"
	StorageDiskQueue = "diskqueue"
)

// ChannelCounts are a channel's counters in nsqd's /stats, or their sum
// over several nodes (see Add).
type ChannelCounts struct {
	ChannelName   string `json:"channel_name"`
	Depth         int64  `json:"depth"`
	BackendDepth  int64  `json:"backend_depth"`
	InFlightCount int64  `json:"in_flight_count"`
	DeferredCount int64  `json:"deferred_count"`
	MessageCount  int64  `json:"message_count"`
	RequeueCount  int64  `json:"requeue_count"`
	TimeoutCount  int64  `json:"timeout_count"`
	ClientCount   int64  `json:"client_count"`
}

// Add sums o's counters into c (the name is kept).
func (c *ChannelCounts) Add(o ChannelCounts) {
	c.Depth += o.Depth
	c.BackendDepth += o.BackendDepth
	c.InFlightCount += o.InFlightCount
	c.DeferredCount += o.DeferredCount
	c.MessageCount += o.MessageCount
	c.RequeueCount += o.RequeueCount
	c.TimeoutCount += o.TimeoutCount
	c.ClientCount += o.ClientCount
}

// ChannelStats is a channel in nsqd's /stats.
type ChannelStats struct {
	ChannelCounts
	ZoneLocalMsgCount   int64          `json:"zone_local_msg_count"`
	RegionLocalMsgCount int64          `json:"region_local_msg_count"`
	GlobalMsgCount      int64          `json:"global_msg_count"`
	Clients             []*ClientStats `json:"clients"`
	Paused              bool           `json:"paused"`
	E2E                 E2E            `json:"e2e_processing_latency"`

	// ours (absent from NSQ's nsqd, then zero): lag and dead letters
	OldestMsgAgeMs  int64  `json:"oldest_msg_age_ms"`
	FinLatency      E2E    `json:"fin_latency"`
	MaxAttempts     int64  `json:"max_attempts"`
	DeadLetterTopic string `json:"dead_letter_topic"`
	DeadLetterCount int64  `json:"dead_letter_count"`
}

// E2E is an end-to-end processing latency summary in nsqd's /stats.
type E2E struct {
	Count       int64           `json:"count"`
	Percentiles []E2EPercentile `json:"percentiles"`
}

// E2EPercentile is one quantile of an E2E summary.
type E2EPercentile struct {
	Quantile float64 `json:"quantile"`
	Value    float64 `json:"value"`
}

// ClientStats is a consumer connection of a channel in nsqd's /stats.
type ClientStats struct {
	ClientID                      string `json:"client_id"`
	Hostname                      string `json:"hostname"`
	Version                       string `json:"version"`
	RemoteAddress                 string `json:"remote_address"`
	ReadyCount                    int64  `json:"ready_count"`
	InFlightCount                 int64  `json:"in_flight_count"`
	MessageCount                  int64  `json:"message_count"`
	FinishCount                   int64  `json:"finish_count"`
	RequeueCount                  int64  `json:"requeue_count"`
	ConnectTs                     int64  `json:"connect_ts"`
	SampleRate                    int64  `json:"sample_rate"`
	Deflate                       bool   `json:"deflate"`
	Snappy                        bool   `json:"snappy"`
	UserAgent                     string `json:"user_agent"`
	Authed                        bool   `json:"authed"`
	AuthIdentity                  string `json:"auth_identity"`
	AuthIdentityURL               string `json:"auth_identity_url"`
	TopologyZone                  string `json:"topology_zone"`
	TopologyRegion                string `json:"topology_region"`
	TLS                           bool   `json:"tls"`
	TLSCipherSuite                string `json:"tls_cipher_suite"`
	TLSVersion                    string `json:"tls_version"`
	TLSNegotiatedProtocol         string `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool   `json:"tls_negotiated_protocol_is_mutual"`
}
