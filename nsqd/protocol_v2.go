package nsqd

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/protocol"
)

// protocolV2 runs V2 connections for one NSQD.
type protocolV2 struct {
	n *NSQD
}

// logV2 logs a line about V2 connection c, prefixed so an operator can
// grep every line of one connection: "PROTOCOL(V2): [addr] ...".
func (n *NSQD) logV2(c *client, level lg.Level, format string, args ...any) {
	n.log.Logf(level, "PROTOCOL(V2): [%s] "+format, append([]any{c.remoteAddr}, args...)...)
}

// logTCP logs a line about a TCP connection before its protocol is known:
// "TCP: client(addr): ...".
func (n *NSQD) logTCP(addr net.Addr, level lg.Level, format string, args ...any) {
	n.log.Logf(level, "TCP: client(%s): "+format, append([]any{addr}, args...)...)
}

// serve runs one connection (after the magic) until it ends.
func (p *protocolV2) serve(c *client) {
	go p.pump(c)
	err := p.readLoop(c)
	c.drainAcks()
	if err != nil && !isClosedErr(err) {
		p.n.logV2(c, lg.INFO, "exiting ioloop: %s", err)
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
		if unflushed && !c.hasBufferedCommand() {
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
		if queued, stop := p.queueResponse(c, resp, err); queued {
			if stop != nil {
				return stop
			}
			continue
		}
		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				perr = protocol.NewFatal(protocol.ErrInvalid, err.Error())
			}
			p.n.logV2(c, lg.ERROR, "%s", perr)
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
	size, err := protocol.ReadInt32(c.r)
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
	body, err := protocol.ReadSized(c.r, int(size))
	if err != nil {
		return nil, protocol.NewFatal(code, fmt.Sprintf("%s failed to read %s", cmd, what))
	}
	return body, nil
}
