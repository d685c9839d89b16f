package nsqd

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
	"github.com/dropin/nsq/internal/version"
)

// identifyRequest is the IDENTIFY body. Typed fields make a value of the
// wrong JSON type fail the decode, as in NSQ.
type identifyRequest struct {
	ClientID            string `json:"client_id"`
	Hostname            string `json:"hostname"`
	UserAgent           string `json:"user_agent"`
	FeatureNegotiation  bool   `json:"feature_negotiation"`
	HeartbeatInterval   int    `json:"heartbeat_interval"`
	OutputBufferSize    int    `json:"output_buffer_size"`
	OutputBufferTimeout int    `json:"output_buffer_timeout"`
	TLSv1               bool   `json:"tls_v1"`
	Snappy              bool   `json:"snappy"`
	Deflate             bool   `json:"deflate"`
	DeflateLevel        int    `json:"deflate_level"`
	SampleRate          int32  `json:"sample_rate"`
	MsgTimeout          int    `json:"msg_timeout"`
	TopologyRegion      string `json:"topology_region"`
	TopologyZone        string `json:"topology_zone"`
}

// identifyResponse is the feature-negotiation reply; field order matters
// to nobody but is kept as NSQ emits it.
type identifyResponse struct {
	MaxRdyCount         int64  `json:"max_rdy_count"`
	Version             string `json:"version"`
	MaxMsgTimeout       int64  `json:"max_msg_timeout"`
	MsgTimeout          int64  `json:"msg_timeout"`
	TLSv1               bool   `json:"tls_v1"`
	Deflate             bool   `json:"deflate"`
	DeflateLevel        int    `json:"deflate_level"`
	MaxDeflateLevel     int    `json:"max_deflate_level"`
	Snappy              bool   `json:"snappy"`
	SampleRate          int32  `json:"sample_rate"`
	AuthRequired        bool   `json:"auth_required"`
	OutputBufferSize    int    `json:"output_buffer_size"`
	OutputBufferTimeout int64  `json:"output_buffer_timeout"`
	TopologyRegion      string `json:"topology_region"`
	TopologyZone        string `json:"topology_zone"`
}

// identifySettings are the validated values of one IDENTIFY.
type identifySettings struct {
	heartbeat     time.Duration // 0 = disabled
	outputSize    int
	outputTimeout time.Duration
	msgTimeout    time.Duration
}

// bufferSize is the size of the output buffer behind the settings. An
// unbuffered client (output_buffer_size -1, reported as 1 like NSQ) gets a
// whole default-size buffer all the same: its timeout is 0, so the pump
// flushes after every batch it hands out and nothing waits in the buffer,
// but a batch leaves in one write(2) instead of two per message (frame
// header, then body) that wake the client twice each.
func (s identifySettings) bufferSize() int {
	if s.outputSize == 1 && s.outputTimeout == 0 {
		return defaultBufferSize
	}
	return s.outputSize
}

func (p *protocolV2) identify(c *client, _ *protocol.Params) ([]byte, error) {
	if c.state.Load() != stateInit {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot IDENTIFY in current state")
	}
	body, err := readBody(c, "IDENTIFY", protocol.ErrBadBody, "body", p.n.opts.MaxBodySize)
	if err != nil {
		return nil, err
	}
	var req identifyRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, protocol.NewFatal(protocol.ErrBadBody, "IDENTIFY failed to decode JSON body")
	}
	c.mu.Lock()
	c.clientID, c.hostname, c.userAgent = req.ClientID, req.Hostname, req.UserAgent
	c.mu.Unlock()

	s, err := p.validateIdentify(c, &req)
	if err != nil {
		return nil, protocol.NewFatal(protocol.ErrBadBody, "IDENTIFY "+err.Error())
	}
	c.mu.Lock()
	c.topologyRegion, c.topologyZone = req.TopologyRegion, req.TopologyZone
	c.identified = true
	c.mu.Unlock()
	if size := s.bufferSize(); size != c.w.Size() {
		if err := c.setOutputBuffer(size); err != nil {
			return nil, err
		}
	}
	c.outputSize = s.outputSize
	c.heartbeatNs.Store(int64(s.heartbeat))
	c.outputTimeoutNs.Store(int64(s.outputTimeout))
	c.msgTimeoutNs.Store(int64(s.msgTimeout))
	c.sampleRateV.Store(req.SampleRate)
	select {
	case c.retuneCh <- struct{}{}:
	default:
	}

	if !req.FeatureNegotiation {
		return protocol.OK, nil
	}
	return nil, p.negotiate(c, &req, s)
}

// validateIdentify checks the requested values in NSQ's order and fills
// in defaults.
func (p *protocolV2) validateIdentify(c *client, req *identifyRequest) (identifySettings, error) {
	o := p.n.opts
	s := identifySettings{
		heartbeat:     c.heartbeat(),
		outputSize:    c.outputSize,
		outputTimeout: time.Duration(c.outputTimeoutNs.Load()),
		msgTimeout:    c.msgTimeout(),
	}
	switch hb := req.HeartbeatInterval; {
	case hb == -1:
		s.heartbeat = 0
	case hb == 0:
	case msWithin(hb, time.Second, o.MaxHeartbeatInterval):
		s.heartbeat = time.Duration(hb) * time.Millisecond
	default:
		return s, fmt.Errorf("heartbeat interval (%d) is invalid", hb)
	}
	switch ot := req.OutputBufferTimeout; {
	case ot == -1:
		s.outputTimeout = 0
	case ot == 0:
	case msWithin(ot, o.MinOutputBufferTimeout, o.MaxOutputBufferTimeout):
		s.outputTimeout = time.Duration(ot) * time.Millisecond
	default:
		return s, fmt.Errorf("output buffer timeout (%d) is invalid", ot)
	}
	switch os := req.OutputBufferSize; {
	case os == -1:
		s.outputSize = 1
		s.outputTimeout = 0
	case os == 0:
	case os >= 64 && int64(os) <= o.MaxOutputBufferSize:
		s.outputSize = os
	default:
		return s, fmt.Errorf("output buffer size (%d) is invalid", os)
	}
	if req.SampleRate < 0 || req.SampleRate > 99 {
		return s, fmt.Errorf("sample rate (%d) is invalid", req.SampleRate)
	}
	switch mt := req.MsgTimeout; {
	case mt == 0:
	case msWithin(mt, time.Second, o.MaxMsgTimeout):
		s.msgTimeout = time.Duration(mt) * time.Millisecond
	default:
		return s, fmt.Errorf("msg timeout (%d) is invalid", mt)
	}
	return s, nil
}

// msWithin reports whether ms milliseconds lie in [lo, hi], comparing in
// milliseconds so a huge value cannot wrap into range as nanoseconds.
func msWithin(ms int, lo, hi time.Duration) bool {
	return int64(ms) >= lo.Milliseconds() && int64(ms) <= hi.Milliseconds()
}

// negotiate sends the feature-negotiation JSON and performs the upgrades
// in NSQ's order: TLS, then snappy, then deflate, each followed by an OK
// frame in the new encoding.
func (p *protocolV2) negotiate(c *client, req *identifyRequest, s identifySettings) error {
	o := p.n.opts
	tlsOK := req.TLSv1 && p.n.tlsConfig != nil
	deflate := req.Deflate && o.DeflateEnabled
	snappy := req.Snappy && o.SnappyEnabled
	level := 6
	if req.DeflateLevel > 0 {
		level = req.DeflateLevel
	}
	if level > o.MaxDeflateLevel {
		level = o.MaxDeflateLevel
	}
	if deflate && snappy {
		return protocol.NewFatal(protocol.ErrIdentifyFailed, "cannot enable both deflate and snappy compression")
	}
	resp, err := json.Marshal(identifyResponse{
		MaxRdyCount:         o.MaxRdyCount,
		Version:             version.Binary,
		MaxMsgTimeout:       int64(o.MaxMsgTimeout / time.Millisecond),
		MsgTimeout:          int64(s.msgTimeout / time.Millisecond),
		TLSv1:               tlsOK,
		Deflate:             deflate,
		DeflateLevel:        level,
		MaxDeflateLevel:     o.MaxDeflateLevel,
		Snappy:              snappy,
		SampleRate:          req.SampleRate,
		AuthRequired:        p.n.authEnabled(),
		OutputBufferSize:    s.outputSize,
		OutputBufferTimeout: int64(s.outputTimeout / time.Millisecond),
		TopologyRegion:      o.TopologyRegion,
		TopologyZone:        o.TopologyZone,
	})
	if err != nil {
		return protocol.NewFatal(protocol.ErrIdentifyFailed, "IDENTIFY failed "+err.Error())
	}
	if err := c.writeFrame(protocol.FrameTypeResponse, resp); err != nil {
		return protocol.NewFatal(protocol.ErrIdentifyFailed, "IDENTIFY failed "+err.Error())
	}
	upgrades := []struct {
		on bool
		do func() error
	}{
		{tlsOK, func() error { return c.upgradeTLS(p.n.tlsConfig) }},
		{snappy, c.upgradeSnappy},
		{deflate, func() error { return c.upgradeDeflate(level) }},
	}
	for _, u := range upgrades {
		if !u.on {
			continue
		}
		if err := u.do(); err != nil {
			return protocol.NewFatal(protocol.ErrIdentifyFailed, "IDENTIFY failed "+err.Error())
		}
		if err := c.writeFrame(protocol.FrameTypeResponse, protocol.OK); err != nil {
			return protocol.NewFatal(protocol.ErrIdentifyFailed, "IDENTIFY failed "+err.Error())
		}
	}
	return nil
}

func (p *protocolV2) auth(c *client, params *protocol.Params) ([]byte, error) {
	if c.state.Load() != stateInit {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot AUTH in current state")
	}
	if params.Len() != 1 {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "AUTH invalid number of parameters")
	}
	body, err := readBody(c, "AUTH", protocol.ErrBadBody, "body", p.n.opts.MaxBodySize)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	already := c.auth != nil
	c.mu.Unlock()
	if already {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "AUTH already set")
	}
	if !p.n.authEnabled() {
		return nil, protocol.NewFatal(protocol.ErrAuthDisabled, "AUTH disabled")
	}
	state, err := p.n.auth.query(c, string(body))
	if err != nil {
		p.n.logV2(c, lg.WARN, "AUTH failed: %s", err)
		return nil, protocol.NewFatal(protocol.ErrAuthFailed, "AUTH failed")
	}
	if len(state.Authorizations) == 0 {
		return nil, protocol.NewFatal(protocol.ErrUnauthorized, "AUTH no authorizations found")
	}
	c.mu.Lock()
	c.auth = state
	c.mu.Unlock()
	resp, err := json.Marshal(struct {
		Identity        string `json:"identity"`
		IdentityURL     string `json:"identity_url"`
		PermissionCount int    `json:"permission_count"`
	}{state.Identity, state.IdentityURL, len(state.Authorizations)})
	if err != nil {
		return nil, protocol.NewFatal(protocol.ErrAuthError, "AUTH error "+err.Error())
	}
	return resp, nil
}
