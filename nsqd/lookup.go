package nsqd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
	"github.com/dropin/nsq/internal/version"
)

const (
	lookupRegister   = "REGISTER"
	lookupUnregister = "UNREGISTER"

	lookupIOTimeout = time.Second
)

type lookupEvent struct {
	cmd, topic, channel string
}

// lookupPeers keeps nsqd registered with every --lookupd-tcp-address: one
// connection each, IDENTIFY and a full REGISTER sync on (re)connect,
// REGISTER/UNREGISTER as topics and channels come and go, and PING every
// 15 s. A failed peer is redialled by the next command or ping. All network
// work happens on the loop goroutine.
type lookupPeers struct {
	cfg lookupConfig

	// mu guards peers (the configured set, by address), order, events and
	// each peer's info. Nothing else is locked while it is held.
	mu     sync.Mutex
	peers  map[string]*lookupPeer
	order  []string
	events []lookupEvent
	wake   chan struct{}
}

// lookupPeer is one nsqlookupd; its conn fields are used only by the loop
// goroutine, its info under lookupPeers.mu.
type lookupPeer struct {
	addr string
	conn net.Conn
	info lookupInfo
}

// lookupInfo is the IDENTIFY reply of a lookupd.
type lookupInfo struct {
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	TCPPort          int    `json:"tcp_port"`
	Version          string `json:"version"`
}

// lookupConfig is what lookupPeers needs from the daemon, given at
// creation instead of a pointer back to it.
type lookupConfig struct {
	addrs        []string // the initial --lookupd-tcp-address set
	pingInterval time.Duration
	identity     lookupIdentity // the IDENTIFY body
	httpClient   *httpapi.Client
	log          *lg.Leveled
	exitCh       <-chan struct{} // closed when nsqd exits
	// registrations lists a REGISTER for every topic and channel, in the
	// order they are sent after (re)connecting.
	registrations func() []lookupEvent
}

func newLookupPeers(cfg lookupConfig) *lookupPeers {
	lp := &lookupPeers{cfg: cfg, peers: map[string]*lookupPeer{}, wake: make(chan struct{}, 1)}
	lp.setAddrsLocked(cfg.addrs)
	return lp
}

func (lp *lookupPeers) setAddrsLocked(addrs []string) {
	next := map[string]*lookupPeer{}
	order := []string{}
	for _, a := range addrs {
		if _, dup := next[a]; dup {
			continue
		}
		if p, ok := lp.peers[a]; ok {
			next[a] = p
		} else {
			next[a] = &lookupPeer{addr: a}
		}
		order = append(order, a)
	}
	lp.peers, lp.order = next, order
}

// setAddrs replaces the lookupd set (PUT /config/nsqlookupd_tcp_addresses):
// dropped peers are disconnected, new ones connected.
func (lp *lookupPeers) setAddrs(addrs []string) {
	lp.mu.Lock()
	lp.setAddrsLocked(addrs)
	lp.mu.Unlock()
	lp.signal()
}

func (lp *lookupPeers) signal() {
	select {
	case lp.wake <- struct{}{}:
	default:
	}
}

// notify queues a REGISTER or UNREGISTER for every peer.
func (lp *lookupPeers) notify(cmd, topic, channel string) {
	lp.mu.Lock()
	if len(lp.peers) == 0 {
		lp.mu.Unlock()
		return
	}
	lp.events = append(lp.events, lookupEvent{cmd, topic, channel})
	lp.mu.Unlock()
	lp.signal()
}

func (lp *lookupPeers) snapshot() []*lookupPeer {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	out := make([]*lookupPeer, 0, len(lp.order))
	for _, a := range lp.order {
		out = append(out, lp.peers[a])
	}
	return out
}

// loop runs until nsqd exits.
func (lp *lookupPeers) loop() {
	ticker := time.NewTicker(lp.cfg.pingInterval)
	defer ticker.Stop()
	connected := map[*lookupPeer]bool{}
	for _, p := range lp.snapshot() {
		lp.command(p, "PING", "", "")
		connected[p] = true
	}
	for {
		select {
		case <-lp.cfg.exitCh:
			for _, p := range lp.snapshot() {
				p.close()
			}
			return
		case <-ticker.C:
			for _, p := range lp.snapshot() {
				lp.command(p, "PING", "", "")
			}
		case <-lp.wake:
			// connect peers added at run time, drop removed ones
			current := map[*lookupPeer]bool{}
			for _, p := range lp.snapshot() {
				current[p] = true
				if !connected[p] {
					connected[p] = true
					lp.command(p, "PING", "", "")
				}
			}
			for p := range connected {
				if !current[p] {
					lp.cfg.log.Logf(lg.INFO, "LOOKUPD(%s): removing peer", p.addr)
					p.close()
					delete(connected, p)
				}
			}
			lp.mu.Lock()
			events := lp.events
			lp.events = nil
			lp.mu.Unlock()
			for _, e := range events {
				for _, p := range lp.snapshot() {
					lp.command(p, e.cmd, e.topic, e.channel)
				}
			}
		}
	}
}

func (p *lookupPeer) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// command sends one command, connecting (IDENTIFY + full sync) first if
// needed. Errors close the connection and are logged.
func (lp *lookupPeers) command(p *lookupPeer, cmd, topic, channel string) {
	log := lp.cfg.log
	if p.conn == nil {
		if err := lp.connect(p); err != nil {
			log.Logf(lg.ERROR, "LOOKUPD(%s): connect failed: %s", p.addr, err)
			p.close()
			return
		}
	}
	if _, err := p.roundTrip(commandLine(cmd, topic, channel), nil); err != nil {
		log.Logf(lg.ERROR, "LOOKUPD(%s): %s %s %s failed: %s", p.addr, cmd, topic, channel, err)
		p.close()
	}
}

func commandLine(cmd, topic, channel string) string {
	switch {
	case topic == "":
		return cmd + "\n"
	case channel == "":
		return cmd + " " + topic + "\n"
	}
	return cmd + " " + topic + " " + channel + "\n"
}

// connect dials, identifies and registers every topic and channel.
func (lp *lookupPeers) connect(p *lookupPeer) error {
	lp.cfg.log.Logf(lg.INFO, "LOOKUPD(%s): adding peer", p.addr)
	conn, err := net.DialTimeout("tcp", p.addr, lookupIOTimeout)
	if err != nil {
		return err
	}
	p.conn = conn
	conn.SetWriteDeadline(time.Now().Add(lookupIOTimeout))
	if _, err := conn.Write([]byte(protocol.MagicV1)); err != nil {
		return err
	}
	body, err := json.Marshal(lp.cfg.identity)
	if err != nil {
		return err
	}
	reply, err := p.roundTrip("IDENTIFY\n", protocol.AppendBody(nil, body))
	if err != nil {
		return err
	}
	var info lookupInfo
	if len(reply) == 0 || reply[0] != '{' || json.Unmarshal(reply, &info) != nil {
		return fmt.Errorf("IDENTIFY rejected: %s", reply)
	}
	lp.mu.Lock()
	p.info = info
	lp.mu.Unlock()
	lp.cfg.log.Logf(lg.INFO, "LOOKUPD(%s): peer info %+v", p.addr, info)
	for _, e := range lp.cfg.registrations() {
		if _, err := p.roundTrip(commandLine(e.cmd, e.topic, e.channel), nil); err != nil {
			return err
		}
	}
	return nil
}

// roundTrip writes a command (and body) and reads the V1 reply.
func (p *lookupPeer) roundTrip(line string, body []byte) ([]byte, error) {
	if p.conn == nil {
		return nil, net.ErrClosed
	}
	p.conn.SetDeadline(time.Now().Add(lookupIOTimeout))
	if _, err := p.conn.Write(append([]byte(line), body...)); err != nil {
		return nil, err
	}
	size, err := protocol.ReadInt32(p.conn)
	if err != nil {
		return nil, err
	}
	if size < 0 || size > 1<<20 {
		return nil, fmt.Errorf("bad reply size %d", size)
	}
	reply := make([]byte, size)
	if _, err := io.ReadFull(p.conn, reply); err != nil {
		return nil, err
	}
	if len(reply) >= 2 && string(reply[:2]) == "E_" {
		return reply, fmt.Errorf("%s", reply)
	}
	return reply, nil
}

// lookupIdentity is the IDENTIFY body nsqd sends to nsqlookupd.
type lookupIdentity struct {
	Version          string `json:"version"`
	TCPPort          int    `json:"tcp_port"`
	HTTPPort         int    `json:"http_port"`
	Hostname         string `json:"hostname"`
	BroadcastAddress string `json:"broadcast_address"`
	TopologyZone     string `json:"topology_zone"`
	TopologyRegion   string `json:"topology_region"`
}

// lookupdRegistrations is what nsqd registers with a lookupd on connect:
// each topic with no channels, and each channel.
func (n *NSQD) lookupdRegistrations() []lookupEvent {
	var out []lookupEvent
	for _, t := range n.topicList() {
		chans := t.Channels()
		if len(chans) == 0 {
			out = append(out, lookupEvent{lookupRegister, t.name, ""})
		}
		for _, c := range chans {
			out = append(out, lookupEvent{lookupRegister, t.name, c.name})
		}
	}
	return out
}

// identityForLookupd is the IDENTIFY body; the listeners must be open.
func (n *NSQD) identityForLookupd() lookupIdentity {
	hostname, _ := os.Hostname()
	return lookupIdentity{
		Version:          version.Binary,
		TCPPort:          n.broadcastTCPPort(),
		HTTPPort:         n.broadcastHTTPPort(),
		Hostname:         hostname,
		BroadcastAddress: n.opts.BroadcastAddress,
		TopologyZone:     n.opts.TopologyZone,
		TopologyRegion:   n.opts.TopologyRegion,
	}
}

func (n *NSQD) broadcastTCPPort() int {
	if n.opts.BroadcastTCPPort != 0 {
		return n.opts.BroadcastTCPPort
	}
	return httpapi.Port(n.tcpListener)
}

func (n *NSQD) broadcastHTTPPort() int {
	if n.opts.BroadcastHTTPPort != 0 {
		return n.opts.BroadcastHTTPPort
	}
	if n.httpListener == nil {
		return 0
	}
	return httpapi.Port(n.httpListener)
}

// channelsFor asks every identified lookupd which channels topic has, so
// a new topic can create them before it delivers anything.
func (lp *lookupPeers) channelsFor(topic string) []string {
	lp.mu.Lock()
	var endpoints []string
	configured := len(lp.peers) > 0
	for _, a := range lp.order {
		info := lp.peers[a].info
		if info.BroadcastAddress == "" || info.HTTPPort == 0 {
			continue
		}
		endpoints = append(endpoints, fmt.Sprintf("http://%s/channels?topic=%s",
			net.JoinHostPort(info.BroadcastAddress, strconv.Itoa(info.HTTPPort)), url.QueryEscape(topic)))
	}
	lp.mu.Unlock()
	if configured && len(endpoints) == 0 {
		lp.cfg.log.Logf(lg.ERROR, "LOOKUPD: no connected nsqlookupd to ask for channels of topic %s", topic)
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range endpoints {
		var resp struct {
			Channels []string `json:"channels"`
		}
		if err := lp.cfg.httpClient.GETV1(context.Background(), e, &resp); err != nil {
			lp.cfg.log.Logf(lg.ERROR, "LOOKUPD: failed to query %s: %s", e, err)
			continue
		}
		for _, c := range resp.Channels {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// addrs returns the configured lookupd TCP addresses.
func (lp *lookupPeers) addrs() []string {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return append([]string{}, lp.order...)
}
