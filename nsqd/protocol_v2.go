package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/protocol"
	"github.com/dropin/nsq/internal/version"
)

// protocolV2 runs V2 connections for one NSQD.
type protocolV2 struct {
	n *NSQD
}

// serve runs one connection (after the magic) until it ends.
func (p *protocolV2) serve(c *client) {
	go p.pump(c)
	err := p.readLoop(c)
	if err != nil && !isClosedErr(err) {
		p.n.log.Logf(lg.INFO, "PROTOCOL(V2): [%s] exiting ioloop - %s", c.remoteAddr, err)
	}
	close(c.exitCh)
	if ch := c.sub.Load(); ch != nil {
		ch.removeClient(c)
	}
	c.closeConn()
}

func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// readLoop reads and runs commands until an error or a fatal client error.
func (p *protocolV2) readLoop(c *client) error {
	var params protocol.Params
	unflushed := false
	for {
		// Responses to pipelined commands go out together: flush only
		// when no complete command is waiting to be read.
		if unflushed && !c.hasBufferedLine() {
			if err := c.flush(); err != nil {
				return err
			}
			unflushed = false
		}
		c.refreshReadDeadline()
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		params.Split(protocol.TrimLine(line))
		resp, err := p.exec(c, &params)
		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				perr = protocol.NewFatal(protocol.ErrInvalid, err.Error())
			}
			p.n.log.Logf(lg.ERROR, "[%s] - %s", c.remoteAddr, perr)
			if werr := c.writeFrame(protocol.FrameTypeError, []byte(perr.Error())); werr != nil {
				return werr
			}
			if perr.Fatal {
				return perr
			}
			continue
		}
		if resp != nil {
			if err := c.writeFrameNoFlush(protocol.FrameTypeResponse, resp); err != nil {
				return err
			}
			unflushed = true
		}
	}
}

// exec runs one command line. The params alias the read buffer and are
// valid only until the command reads its body.
func (p *protocolV2) exec(c *client, params *protocol.Params) ([]byte, error) {
	cmd := params.At(0)
	var handler func(*client, *protocol.Params) ([]byte, error)
	switch string(cmd) {
	case "FIN":
		handler = p.fin
	case "RDY":
		handler = p.rdy
	case "REQ":
		handler = p.req
	case "PUB":
		handler = p.pub
	case "MPUB":
		handler = p.mpub
	case "DPUB":
		handler = p.dpub
	case "NOP":
		handler = p.nop
	case "TOUCH":
		handler = p.touch
	case "SUB":
		handler = p.sub
	case "CLS":
		handler = p.cls
	case "AUTH":
		handler = p.auth
	case "IDENTIFY":
		return p.identify(c, params)
	default:
		return nil, protocol.NewFatal(protocol.ErrInvalid, "invalid command "+string(cmd))
	}
	if p.n.tlsRequiredTCP() && !c.isTLS() {
		return nil, protocol.NewFatal(protocol.ErrInvalid,
			fmt.Sprintf("cannot %s in current state (TLS required)", cmd))
	}
	return handler(c, params)
}

func (c *client) isTLS() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tlsState != nil
}

func (p *protocolV2) nop(*client, *protocol.Params) ([]byte, error) { return nil, nil }

// readBody reads a 4-byte size and that many bytes, checking 1..max.
// The error texts are the caller's command name plus NSQ's wording; code
// is E_BAD_BODY or E_BAD_MESSAGE.
func readBody(c *client, cmd, code, what string, max int64) ([]byte, error) {
	size, err := readInt32(c.r)
	if err != nil {
		return nil, protocol.NewFatal(code, fmt.Sprintf("%s failed to read %s size", cmd, what))
	}
	if code == protocol.ErrBadMessage {
		// PUB/DPUB: size checked for <= 0 before the max
		if size <= 0 {
			return nil, protocol.NewFatal(code, fmt.Sprintf("%s invalid message body size %d", cmd, size))
		}
		if int64(size) > max {
			return nil, protocol.NewFatal(code, fmt.Sprintf("%s message too big %d > %d", cmd, size, max))
		}
	} else {
		if int64(size) > max {
			return nil, protocol.NewFatal(code, fmt.Sprintf("%s body too big %d > %d", cmd, size, max))
		}
		if size <= 0 {
			return nil, protocol.NewFatal(code, fmt.Sprintf("%s invalid body size %d", cmd, size))
		}
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, protocol.NewFatal(code, fmt.Sprintf("%s failed to read %s", cmd, what))
	}
	return body, nil
}

func (p *protocolV2) pub(c *client, params *protocol.Params) ([]byte, error) {
	if params.Len() < 2 {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "PUB insufficient number of parameters")
	}
	topicName := string(params.At(1))
	if !names.IsValidTopicName(topicName) {
		return nil, protocol.NewFatal(protocol.ErrBadTopic, fmt.Sprintf("PUB topic name %q is not valid", topicName))
	}
	body, err := readBody(c, "PUB", protocol.ErrBadMessage, "message body", p.n.opts.MaxMsgSize)
	if err != nil {
		return nil, err
	}
	if err := p.n.checkAuth(c, "PUB", topicName, ""); err != nil {
		return nil, err
	}
	return p.publish(c, "PUB", protocol.ErrPubFailed, topicName, [][]byte{body}, 0)
}

func (p *protocolV2) publish(c *client, cmd, code, topicName string, bodies [][]byte, deferral time.Duration) ([]byte, error) {
	t, err := p.n.GetTopic(topicName)
	if err == nil {
		err = t.Publish(bodies, deferral)
	}
	if err != nil {
		return nil, protocol.NewFatal(code, fmt.Sprintf("%s failed %s", cmd, err))
	}
	c.countPub(topicName, uint64(len(bodies)))
	return protocol.OK, nil
}

func (p *protocolV2) dpub(c *client, params *protocol.Params) ([]byte, error) {
	if params.Len() < 3 {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "DPUB insufficient number of parameters")
	}
	topicName := string(params.At(1))
	if !names.IsValidTopicName(topicName) {
		return nil, protocol.NewFatal(protocol.ErrBadTopic, fmt.Sprintf("DPUB topic name %q is not valid", topicName))
	}
	ms, ok := protocol.ParseUint(params.At(2))
	if !ok {
		return nil, protocol.NewFatal(protocol.ErrInvalid, fmt.Sprintf("DPUB could not parse timeout %s", params.At(2)))
	}
	maxMs := uint64(p.n.opts.MaxReqTimeout / time.Millisecond)
	if ms > maxMs {
		return nil, protocol.NewFatal(protocol.ErrInvalid, fmt.Sprintf("DPUB timeout %d out of range 0-%d", ms, maxMs))
	}
	body, err := readBody(c, "DPUB", protocol.ErrBadMessage, "message body", p.n.opts.MaxMsgSize)
	if err != nil {
		return nil, err
	}
	if err := p.n.checkAuth(c, "DPUB", topicName, ""); err != nil {
		return nil, err
	}
	return p.publish(c, "DPUB", protocol.ErrDPubFailed, topicName, [][]byte{body}, time.Duration(ms)*time.Millisecond)
}

func (p *protocolV2) mpub(c *client, params *protocol.Params) ([]byte, error) {
	if params.Len() < 2 {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "MPUB insufficient number of parameters")
	}
	topicName := string(params.At(1))
	if !names.IsValidTopicName(topicName) {
		// NSQ repeats the code in the text; clients see it this way
		return nil, protocol.NewFatal(protocol.ErrBadTopic, fmt.Sprintf("E_BAD_TOPIC MPUB topic name %q is not valid", topicName))
	}
	if err := p.n.checkAuth(c, "MPUB", topicName, ""); err != nil {
		return nil, err
	}
	// as in NSQ, the topic exists even if the body turns out bad
	t, err := p.n.GetTopic(topicName)
	if err != nil {
		return nil, protocol.NewFatal(protocol.ErrMPubFailed, "MPUB failed "+err.Error())
	}
	bodies, err := readMPUB(c.r, p.n.opts.MaxBodySize, p.n.opts.MaxMsgSize)
	if err != nil {
		return nil, err
	}
	if err := t.Publish(bodies, 0); err != nil {
		return nil, protocol.NewFatal(protocol.ErrMPubFailed, "MPUB failed "+err.Error())
	}
	c.countPub(topicName, uint64(len(bodies)))
	return protocol.OK, nil
}

// readInt32 reads a big-endian int32 without allocating.
func readInt32(r *bufio.Reader) (int32, error) {
	b, err := r.Peek(4)
	if err != nil {
		return 0, err
	}
	v := int32(binary.BigEndian.Uint32(b))
	r.Discard(4)
	return v, nil
}

// readMPUB reads an MPUB body off the stream message by message, as NSQ
// does (the total size is checked but not used for framing), carving the
// bodies out of one allocation.
func readMPUB(r *bufio.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	total, err := readInt32(r)
	if err != nil {
		return nil, protocol.NewFatal(protocol.ErrBadBody, "MPUB failed to read body size")
	}
	if total <= 0 {
		return nil, protocol.NewFatal(protocol.ErrBadBody, fmt.Sprintf("MPUB invalid body size %d", total))
	}
	if int64(total) > maxBody {
		return nil, protocol.NewFatal(protocol.ErrBadBody, fmt.Sprintf("MPUB body too big %d > %d", total, maxBody))
	}
	count, err := readInt32(r)
	if err != nil {
		return nil, protocol.NewFatal(protocol.ErrBadBody, "MPUB failed to read message count")
	}
	if count <= 0 || int64(count) > (maxBody-4)/5 {
		return nil, protocol.NewFatal(protocol.ErrBadBody, fmt.Sprintf("MPUB invalid message count %d", count))
	}
	slab := make([]byte, 0, int(total))
	bodies := make([][]byte, count)
	for i := range bodies {
		size, err := readInt32(r)
		if err != nil {
			return nil, protocol.NewFatal(protocol.ErrBadMessage, fmt.Sprintf("MPUB failed to read message(%d) body size", i))
		}
		if size <= 0 {
			return nil, protocol.NewFatal(protocol.ErrBadMessage, fmt.Sprintf("MPUB invalid message(%d) body size %d", i, size))
		}
		if int64(size) > maxMsg {
			return nil, protocol.NewFatal(protocol.ErrBadMessage, fmt.Sprintf("MPUB message too big %d > %d", size, maxMsg))
		}
		var body []byte
		if cap(slab)-len(slab) >= int(size) {
			body = slab[len(slab) : len(slab)+int(size) : len(slab)+int(size)]
			slab = slab[:len(slab)+int(size)]
		} else {
			body = make([]byte, size)
		}
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, protocol.NewFatal(protocol.ErrBadMessage, "MPUB failed to read message body")
		}
		bodies[i] = body
	}
	return bodies, nil
}

func (p *protocolV2) sub(c *client, params *protocol.Params) ([]byte, error) {
	if c.state.Load() != stateInit {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot SUB in current state")
	}
	if c.heartbeat() <= 0 {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot SUB with heartbeats disabled")
	}
	if params.Len() < 3 {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "SUB insufficient number of parameters")
	}
	topicName, channelName := string(params.At(1)), string(params.At(2))
	if !names.IsValidTopicName(topicName) {
		return nil, protocol.NewFatal(protocol.ErrBadTopic, fmt.Sprintf("SUB topic name %q is not valid", topicName))
	}
	if !names.IsValidChannelName(channelName) {
		return nil, protocol.NewFatal(protocol.ErrBadChannel, fmt.Sprintf("SUB channel name %q is not valid", channelName))
	}
	if err := p.n.checkAuth(c, "SUB", topicName, channelName); err != nil {
		return nil, err
	}
	// an ephemeral topic or channel may be going away as we subscribe:
	// retry briefly so we join its replacement
	var ch *Channel
	for i := 0; ; i++ {
		t, err := p.n.GetTopic(topicName)
		if err == nil {
			ch, err = t.GetChannel(channelName)
		}
		if err == nil {
			err = ch.addClient(c)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, errExiting) {
			return nil, protocol.NewFatal(protocol.ErrSubFailed, "SUB failed "+err.Error())
		}
		if i == 2 {
			return nil, protocol.NewFatal(protocol.ErrSubFailed, "SUB failed to deleted topic/channel")
		}
		time.Sleep(time.Millisecond)
	}
	c.sub.Store(ch)
	c.state.Store(stateSubscribed)
	c.wake()
	return protocol.OK, nil
}

func (p *protocolV2) rdy(c *client, params *protocol.Params) ([]byte, error) {
	state := c.state.Load()
	if state == stateClosing {
		return nil, nil
	}
	if state != stateSubscribed {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot RDY in current state")
	}
	count := uint64(1)
	if params.Len() > 1 {
		v, ok := protocol.ParseUint(params.At(1))
		if !ok {
			return nil, protocol.NewFatal(protocol.ErrInvalid, fmt.Sprintf("RDY could not parse count %s", params.At(1)))
		}
		count = v
	}
	if count > uint64(p.n.opts.MaxRdyCount) {
		return nil, protocol.NewFatal(protocol.ErrInvalid,
			fmt.Sprintf("RDY count %d out of range 0-%d", count, p.n.opts.MaxRdyCount))
	}
	c.rdy.Store(int64(count))
	c.wake()
	return nil, nil
}

// msgIDParam checks the state and the ID parameter of FIN, REQ and TOUCH.
func msgIDParam(c *client, params *protocol.Params, cmd string, need int) (*Channel, MessageID, error) {
	var id MessageID
	state := c.state.Load()
	if state != stateSubscribed && state != stateClosing {
		return nil, id, protocol.NewFatal(protocol.ErrInvalid, "cannot "+cmd+" in current state")
	}
	if params.Len() < need {
		return nil, id, protocol.NewFatal(protocol.ErrInvalid, cmd+" insufficient number of params")
	}
	raw := params.At(1)
	if len(raw) != MsgIDLength {
		return nil, id, protocol.NewFatal(protocol.ErrInvalid, "invalid message ID")
	}
	copy(id[:], raw)
	return c.sub.Load(), id, nil
}

func (p *protocolV2) fin(c *client, params *protocol.Params) ([]byte, error) {
	ch, id, err := msgIDParam(c, params, "FIN", 2)
	if err != nil {
		return nil, err
	}
	if err := ch.finish(c, id); err != nil {
		return nil, protocol.NewNonFatal(protocol.ErrFinFailed, fmt.Sprintf("FIN %s failed %s", id[:], err))
	}
	return nil, nil
}

func (p *protocolV2) req(c *client, params *protocol.Params) ([]byte, error) {
	ch, id, err := msgIDParam(c, params, "REQ", 3)
	if err != nil {
		return nil, err
	}
	ms, ok := protocol.ParseUint(params.At(2))
	if !ok {
		return nil, protocol.NewFatal(protocol.ErrInvalid, fmt.Sprintf("REQ could not parse timeout %s", params.At(2)))
	}
	delay := time.Duration(ms) * time.Millisecond
	if ms > uint64(p.n.opts.MaxReqTimeout/time.Millisecond) {
		p.n.log.Logf(lg.INFO, "PROTOCOL(V2): [%s] REQ timeout %d out of range 0-%d, clamping",
			c.remoteAddr, ms, p.n.opts.MaxReqTimeout/time.Millisecond)
		delay = p.n.opts.MaxReqTimeout
	}
	if err := ch.requeue(c, id, delay); err != nil {
		return nil, protocol.NewNonFatal(protocol.ErrReqFailed, fmt.Sprintf("REQ %s failed %s", id[:], err))
	}
	return nil, nil
}

func (p *protocolV2) touch(c *client, params *protocol.Params) ([]byte, error) {
	ch, id, err := msgIDParam(c, params, "TOUCH", 2)
	if err != nil {
		return nil, err
	}
	if err := ch.touch(c, id); err != nil {
		return nil, protocol.NewNonFatal(protocol.ErrTouchFailed, fmt.Sprintf("TOUCH %s failed %s", id[:], err))
	}
	return nil, nil
}

func (p *protocolV2) cls(c *client, _ *protocol.Params) ([]byte, error) {
	if c.state.Load() != stateSubscribed {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot CLS in current state")
	}
	c.rdy.Store(0)
	c.state.Store(stateClosing)
	c.wake()
	return protocol.CloseWait, nil
}

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
	if s.outputSize != c.w.Size() {
		if err := c.setOutputBuffer(s.outputSize); err != nil {
			return nil, err
		}
	}
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
		outputSize:    c.w.Size(),
		outputTimeout: time.Duration(c.outputTimeoutNs.Load()),
		msgTimeout:    c.msgTimeout(),
	}
	switch hb := req.HeartbeatInterval; {
	case hb == -1:
		s.heartbeat = 0
	case hb == 0:
	case hb >= 1000 && time.Duration(hb)*time.Millisecond <= o.MaxHeartbeatInterval:
		s.heartbeat = time.Duration(hb) * time.Millisecond
	default:
		return s, fmt.Errorf("heartbeat interval (%d) is invalid", hb)
	}
	switch ot := req.OutputBufferTimeout; {
	case ot == -1:
		s.outputTimeout = 0
	case ot == 0:
	case time.Duration(ot)*time.Millisecond >= o.MinOutputBufferTimeout &&
		time.Duration(ot)*time.Millisecond <= o.MaxOutputBufferTimeout:
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
	case mt >= 1000 && time.Duration(mt)*time.Millisecond <= o.MaxMsgTimeout:
		s.msgTimeout = time.Duration(mt) * time.Millisecond
	default:
		return s, fmt.Errorf("msg timeout (%d) is invalid", mt)
	}
	return s, nil
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
		p.n.log.Logf(lg.WARN, "PROTOCOL(V2): [%s] AUTH failed %s", c.remoteAddr, err)
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

// pump delivers messages and heartbeats until the connection ends.
func (p *protocolV2) pump(c *client) {
	hbTicker, hbC := newTicker(c.heartbeat())
	flushTicker, flushC := newTicker(time.Duration(c.outputTimeoutNs.Load()))
	defer func() {
		stopTicker(hbTicker)
		stopTicker(flushTicker)
	}()
	batch := make([]*Message, 0, 64)
	pending := false // unflushed messages in the buffer
	for {
		if ch := c.sub.Load(); ch != nil {
			if n := c.ready(); n > 0 {
				if n > int64(cap(batch)) {
					n = int64(cap(batch))
				}
				batch = ch.take(c, int(n), batch[:0])
				if len(batch) > 0 {
					if err := p.send(c, batch, &pending); err != nil {
						p.n.log.Logf(lg.ERROR, "PROTOCOL(V2): [%s] write failed - %s", c.remoteAddr, err)
						c.closeConn()
						return
					}
					clear(batch)
					if len(batch) == int(n) {
						continue // maybe more is queued
					}
				}
			}
		}
		if pending {
			// nothing more to hand out right now: send what we have
			if err := p.flush(c, &pending); err != nil {
				c.closeConn()
				return
			}
		}
		// tick only while something is buffered or in flight: an idle
		// connection sleeps until woken
		var tick <-chan time.Time
		if pending || c.inFlightCount.Load() > 0 {
			tick = flushC
		}
		select {
		case <-c.wakeCh:
		case <-tick:
			if err := p.flush(c, &pending); err != nil {
				c.closeConn()
				return
			}
		case <-hbC:
			if err := c.writeFrame(protocol.FrameTypeResponse, protocol.Heartbeat); err != nil {
				c.closeConn()
				return
			}
		case <-c.retuneCh:
			stopTicker(hbTicker)
			stopTicker(flushTicker)
			hbTicker, hbC = newTicker(c.heartbeat())
			flushTicker, flushC = newTicker(time.Duration(c.outputTimeoutNs.Load()))
		case <-c.exitCh:
			return
		}
	}
}

// send writes a batch of message frames into the output buffer. The
// buffer flushes itself when full; the pump flushes the rest once the
// client stops being ready or nothing more is queued.
func (p *protocolV2) send(c *client, batch []*Message, pending *bool) error {
	c.inFlightCount.Add(int64(len(batch)))
	c.messageCount.Add(uint64(len(batch)))
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for _, m := range batch {
		if err := m.writeFrame(c.w); err != nil {
			return err
		}
	}
	*pending = true
	return nil
}

func (p *protocolV2) flush(c *client, pending *bool) error {
	if !*pending {
		return nil
	}
	c.writeMu.Lock()
	err := c.flushLocked()
	c.writeMu.Unlock()
	*pending = false
	return err
}

func newTicker(d time.Duration) (*time.Ticker, <-chan time.Time) {
	if d <= 0 {
		return nil, nil
	}
	t := time.NewTicker(d)
	return t, t.C
}

func stopTicker(t *time.Ticker) {
	if t != nil {
		t.Stop()
	}
}
