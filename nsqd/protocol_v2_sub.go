package nsqd

import (
	"errors"
	"fmt"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/protocol"
)

func (p *protocolV2) sub(c *client, params *protocol.Params) ([]byte, error) {
	if c.state.Load() != stateInit {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot SUB in current state")
	}
	if c.heartbeat() <= 0 {
		return nil, protocol.NewFatal(protocol.ErrInvalid, "cannot SUB with heartbeats disabled")
	}
	topicName, err := topicParam(params, "SUB", 3)
	if err != nil {
		return nil, err
	}
	channelName := string(params.At(2))
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
		return nil, protocol.NewNonFatal(protocol.ErrFinFailed, fmt.Sprintf("FIN %s failed %s", string(id[:]), err))
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
		p.n.logV2(c, lg.INFO, "REQ timeout %d out of range 0-%d, clamping",
			ms, p.n.opts.MaxReqTimeout/time.Millisecond)
		delay = p.n.opts.MaxReqTimeout
	}
	if err := ch.requeue(c, id, delay); err != nil {
		return nil, protocol.NewNonFatal(protocol.ErrReqFailed, fmt.Sprintf("REQ %s failed %s", string(id[:]), err))
	}
	return nil, nil
}

func (p *protocolV2) touch(c *client, params *protocol.Params) ([]byte, error) {
	ch, id, err := msgIDParam(c, params, "TOUCH", 2)
	if err != nil {
		return nil, err
	}
	if err := ch.touch(c, id); err != nil {
		return nil, protocol.NewNonFatal(protocol.ErrTouchFailed, fmt.Sprintf("TOUCH %s failed %s", string(id[:]), err))
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
