package nsqlookupd

import (
	"bufio"
	"bytes"
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

const (
	readBufferSize = 4096
	// maxLineLength bounds a command line. A real one is under 200 bytes;
	// NSQ reads lines of any length, we refuse to buffer unbounded input.
	maxLineLength = 64 * 1024
	// maxIdentifyBodySize bounds the IDENTIFY body. NSQ does not bound it
	// (and crashes on a negative size); peer info JSON is a few hundred
	// bytes.
	maxIdentifyBodySize = 1024 * 1024
)

var errLineTooLong = protocol.NewFatal(protocol.ErrInvalid,
	fmt.Sprintf("command line longer than %d bytes", maxLineLength-1))

// clientV1 is one connection speaking the "  V1" lookup protocol. It is
// owned by its connection's goroutine; only peer is shared, through the
// registrationDB, once IDENTIFY has filled it in.
type clientV1 struct {
	n      *NSQLookupd
	remote string // the connection's remote ip:port, also the peer id
	r      *bufio.Reader
	w      *bufio.Writer
	line   []byte    // reused line buffer; command tokens alias it
	peer   *peerInfo // set by IDENTIFY
}

// logf logs a line about this connection, prefixed so an operator can
// grep every line of one connection: "CLIENT(addr): ...".
func (c *clientV1) logf(level lg.Level, format string, args ...any) {
	c.n.logf(level, "CLIENT(%s): "+format, append([]any{c.remote}, args...)...)
}

// ioLoop reads and executes commands until the connection fails or a
// command fails; every error in this protocol is fatal.
func (c *clientV1) ioLoop() {
	defer c.disconnect()
	for {
		line, err := c.readLine()
		if err != nil {
			var perr *protocol.Error
			switch {
			case errors.As(err, &perr):
				c.sendError(perr)
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			default:
				c.logf(lg.ERROR, "read failed: %s", err)
			}
			return
		}
		var params protocol.Params
		params.Split(bytes.TrimSpace(line))
		start := time.Now()
		resp, perr := c.exec(&params)
		c.n.metrics.observeCommand(string(params.At(0)), time.Since(start), perr != nil)
		if perr != nil {
			c.sendError(perr)
			if perr.Fatal {
				return
			}
			continue
		}
		if err := c.send(resp); err != nil {
			c.logf(lg.ERROR, "write failed: %s", err)
			return
		}
	}
}

// readLine returns the next line, "\n" included. Lines may be longer than
// the read buffer; a line that cannot end within maxLineLength bytes is an
// error.
func (c *clientV1) readLine() ([]byte, error) {
	c.line = c.line[:0]
	for {
		chunk, err := c.r.ReadSlice('\n')
		if len(c.line)+len(chunk) > maxLineLength {
			return nil, errLineTooLong
		}
		c.line = append(c.line, chunk...)
		switch {
		case err == nil:
			return c.line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			// decide now rather than wait for bytes that would not fit
			if len(c.line) >= maxLineLength {
				return nil, errLineTooLong
			}
		default:
			return nil, err
		}
	}
}

func (c *clientV1) send(data []byte) error {
	if err := protocol.WriteV1Reply(c.w, data); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *clientV1) sendError(perr *protocol.Error) {
	c.logf(lg.ERROR, "%s", perr)
	if err := c.send([]byte(perr.Error())); err != nil {
		c.logf(lg.ERROR, "write failed: %s", err)
	}
}

// exec dispatches one command line.
func (c *clientV1) exec(params *protocol.Params) ([]byte, *protocol.Error) {
	switch cmd := string(params.At(0)); cmd {
	case "PING":
		return c.ping()
	case "IDENTIFY":
		return c.identify()
	case "REGISTER":
		return c.register(params)
	case "UNREGISTER":
		return c.unregister(params)
	default:
		return nil, protocol.NewFatal(protocol.ErrInvalid, "invalid command "+cmd)
	}
}

// ping refreshes an identified peer's liveness.
func (c *clientV1) ping() ([]byte, *protocol.Error) {
	if c.peer != nil {
		now := time.Now()
		last := time.Unix(0, c.peer.lastUpdate.Swap(now.UnixNano()))
		c.logf(lg.DEBUG, "pinged (last ping %s)", now.Sub(last))
	}
	return protocol.OK, nil
}

func badBody(desc string) *protocol.Error { return protocol.NewFatal(protocol.ErrBadBody, desc) }

// identify reads the peer's info, records it under client:: and replies
// with this daemon's addresses.
func (c *clientV1) identify() ([]byte, *protocol.Error) {
	if c.peer != nil {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot IDENTIFY again")
	}
	size, err := protocol.ReadInt32(c.r)
	if err != nil {
		return nil, badBody("IDENTIFY failed to read body size")
	}
	if size <= 0 {
		return nil, badBody(fmt.Sprintf("IDENTIFY invalid body size %d", size))
	}
	if size > maxIdentifyBodySize {
		return nil, badBody(fmt.Sprintf("IDENTIFY body too big %d > %d", size, maxIdentifyBodySize))
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, badBody("IDENTIFY failed to read body")
	}
	peer := &peerInfo{id: c.remote}
	if err := json.Unmarshal(body, peer); err != nil {
		c.logf(lg.ERROR, "IDENTIFY body %q: %s", body, err)
		return nil, badBody("IDENTIFY failed to decode JSON body")
	}
	peer.RemoteAddress = c.remote
	if peer.BroadcastAddress == "" || peer.TCPPort == 0 || peer.HTTPPort == 0 || peer.Version == "" {
		return nil, badBody("IDENTIFY missing fields")
	}
	peer.lastUpdate.Store(time.Now().UnixNano())
	c.peer = peer
	c.logf(lg.INFO, "IDENTIFY Address:%s TCP:%d HTTP:%d Version:%s",
		peer.BroadcastAddress, peer.TCPPort, peer.HTTPPort, peer.Version)
	if c.n.db.addClient(peer) {
		c.logf(lg.INFO, "DB: REGISTER category:%s key:%s subkey:%s", categoryClient, "", "")
	}

	resp, err := json.Marshal(map[string]any{
		"tcp_port":          c.n.realTCPPort(),
		"http_port":         c.n.realHTTPPort(),
		"version":           version.Binary,
		"hostname":          c.n.hostname,
		"broadcast_address": c.n.opts.BroadcastAddress,
	})
	if err != nil {
		// only strings and ints: cannot happen
		return nil, protocol.NewFatal(protocol.ErrInvalid, "IDENTIFY failed to encode reply")
	}
	return resp, nil
}

// commandArgs validates "<CMD> <topic> [<channel>]".
func commandArgs(cmd string, params *protocol.Params) (topic, channel string, perr *protocol.Error) {
	if params.Len() < 2 {
		return "", "", protocol.NewFatal(protocol.ErrInvalid, cmd+" insufficient number of params")
	}
	topic = string(params.At(1))
	channel = string(params.At(2))
	if !names.IsValidTopicName(topic) {
		return "", "", protocol.NewFatal(protocol.ErrBadTopic,
			fmt.Sprintf("%s topic name '%s' is not valid", cmd, topic))
	}
	if channel != "" && !names.IsValidChannelName(channel) {
		return "", "", protocol.NewFatal(protocol.ErrBadChannel,
			fmt.Sprintf("%s channel name '%s' is not valid", cmd, channel))
	}
	return topic, channel, nil
}

var errMustIdentify = protocol.NewFatal(protocol.ErrInvalid, "client must IDENTIFY")

// register announces the peer as producer of a topic (and channel).
func (c *clientV1) register(params *protocol.Params) ([]byte, *protocol.Error) {
	if c.peer == nil {
		return nil, errMustIdentify
	}
	topic, channel, perr := commandArgs("REGISTER", params)
	if perr != nil {
		return nil, perr
	}
	for _, k := range c.n.db.register(c.peer, topic, channel) {
		c.logf(lg.INFO, "DB: REGISTER category:%s key:%s subkey:%s", k.Category, k.Key, k.SubKey)
	}
	return protocol.OK, nil
}

// unregister withdraws the peer from a channel, or from a topic and all
// its channels.
func (c *clientV1) unregister(params *protocol.Params) ([]byte, *protocol.Error) {
	if c.peer == nil {
		return nil, errMustIdentify
	}
	topic, channel, perr := commandArgs("UNREGISTER", params)
	if perr != nil {
		return nil, perr
	}
	for _, k := range c.n.db.unregister(c.peer.id, topic, channel) {
		level := lg.INFO
		if channel == "" && k.Category == categoryChannel {
			// nsqd unregisters channels before their topic
			level = lg.WARN
		}
		c.logf(level, "DB: UNREGISTER category:%s key:%s subkey:%s", k.Category, k.Key, k.SubKey)
	}
	return protocol.OK, nil
}

// disconnect drops the peer from every registration.
func (c *clientV1) disconnect() {
	if c.peer == nil {
		c.logf(lg.INFO, "closing")
		return
	}
	removed := c.n.db.removePeer(c.peer.id)
	c.logf(lg.INFO, "closing, removed from %d registrations", removed)
}
