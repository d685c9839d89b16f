package nsqadmin

// What nsqd and nsqlookupd send back; only the fields nsqadmin reads.

// lookupdTopics is nsqlookupd's GET /topics.
type lookupdTopics struct {
	Topics []string `json:"topics"`
}

// lookupdChannels is nsqlookupd's GET /channels?topic=.
type lookupdChannels struct {
	Channels []string `json:"channels"`
}

// lookupdPeer is a producer in nsqlookupd's /lookup and /nodes replies.
type lookupdPeer struct {
	RemoteAddress    string   `json:"remote_address"`
	Hostname         string   `json:"hostname"`
	BroadcastAddress string   `json:"broadcast_address"`
	TCPPort          int      `json:"tcp_port"`
	HTTPPort         int      `json:"http_port"`
	Version          string   `json:"version"`
	TopologyZone     string   `json:"topology_zone"`
	TopologyRegion   string   `json:"topology_region"`
	Topics           []string `json:"topics"`
	Tombstones       []bool   `json:"tombstones"`
}

// lookupdLookup is nsqlookupd's GET /lookup?topic=.
type lookupdLookup struct {
	Channels  []string       `json:"channels"`
	Producers []*lookupdPeer `json:"producers"`
}

// lookupdNodes is nsqlookupd's GET /nodes.
type lookupdNodes struct {
	Producers []*lookupdPeer `json:"producers"`
}

// nsqdInfo is nsqd's GET /info.
type nsqdInfo struct {
	Version          string `json:"version"`
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	TCPPort          int    `json:"tcp_port"`
	TopologyZone     string `json:"topology_zone"`
	TopologyRegion   string `json:"topology_region"`
}

// nsqdStats is nsqd's GET /stats?format=json.
type nsqdStats struct {
	Version string       `json:"version"`
	Health  string       `json:"health"`
	Topics  []*nsqdTopic `json:"topics"`
}

type nsqdTopic struct {
	TopicName           string         `json:"topic_name"`
	Channels            []*nsqdChannel `json:"channels"`
	Depth               int64          `json:"depth"`
	BackendDepth        int64          `json:"backend_depth"`
	MessageCount        int64          `json:"message_count"`
	Paused              bool           `json:"paused"`
	ZoneLocalMsgCount   int64          `json:"zone_local_msg_count"`
	RegionLocalMsgCount int64          `json:"region_local_msg_count"`
	GlobalMsgCount      int64          `json:"global_msg_count"`
	E2E                 nsqdE2E        `json:"e2e_processing_latency"`
}

type nsqdChannel struct {
	ChannelName         string        `json:"channel_name"`
	Depth               int64         `json:"depth"`
	BackendDepth        int64         `json:"backend_depth"`
	InFlightCount       int64         `json:"in_flight_count"`
	DeferredCount       int64         `json:"deferred_count"`
	MessageCount        int64         `json:"message_count"`
	RequeueCount        int64         `json:"requeue_count"`
	TimeoutCount        int64         `json:"timeout_count"`
	ZoneLocalMsgCount   int64         `json:"zone_local_msg_count"`
	RegionLocalMsgCount int64         `json:"region_local_msg_count"`
	GlobalMsgCount      int64         `json:"global_msg_count"`
	ClientCount         int           `json:"client_count"`
	Clients             []*nsqdClient `json:"clients"`
	Paused              bool          `json:"paused"`
	E2E                 nsqdE2E       `json:"e2e_processing_latency"`
}

type nsqdE2E struct {
	Count       int64 `json:"count"`
	Percentiles []struct {
		Quantile float64 `json:"quantile"`
		Value    float64 `json:"value"`
	} `json:"percentiles"`
}

type nsqdClient struct {
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
