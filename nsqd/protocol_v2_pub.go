package nsqd

import (
	"bufio"
	"fmt"
	"time"

	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/protocol"
)

// topicParam opens every publish and subscribe command: it checks that
// the command has at least need parameters and that the first names a
// valid topic, and returns that name.
func topicParam(params *protocol.Params, cmd string, need int) (string, error) {
	if params.Len() < need {
		return "", protocol.NewFatal(protocol.ErrInvalid, cmd+" insufficient number of parameters")
	}
	name := string(params.At(1))
	if !names.IsValidTopicName(name) {
		desc := fmt.Sprintf("%s topic name %q is not valid", cmd, name)
		if cmd == "MPUB" {
			// NSQ repeats the code in MPUB's text; clients see it this way
			desc = protocol.ErrBadTopic + " " + desc
		}
		return "", protocol.NewFatal(protocol.ErrBadTopic, desc)
	}
	return name, nil
}

func (p *protocolV2) pub(c *client, params *protocol.Params) ([]byte, error) {
	topicName, err := topicParam(params, "PUB", 2)
	if err != nil {
		return nil, err
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
		err = p.publishTCP(c, t, cmd, code, bodies, deferral)
	}
	if err != nil {
		return nil, protocol.NewFatal(code, fmt.Sprintf("%s failed %s", cmd, err))
	}
	c.countPub(topicName, uint64(len(bodies)))
	return protocol.OK, nil
}

func (p *protocolV2) dpub(c *client, params *protocol.Params) ([]byte, error) {
	topicName, err := topicParam(params, "DPUB", 3)
	if err != nil {
		return nil, err
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
	topicName, err := topicParam(params, "MPUB", 2)
	if err != nil {
		return nil, err
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
	if err := p.publishTCP(c, t, "MPUB", protocol.ErrMPubFailed, bodies, 0); err != nil {
		return nil, protocol.NewFatal(protocol.ErrMPubFailed, "MPUB failed "+err.Error())
	}
	c.countPub(topicName, uint64(len(bodies)))
	return protocol.OK, nil
}

// readMPUB reads an MPUB body off the stream message by message, as NSQ
// does: the total size is checked and sizes the one allocation the
// bodies are carved from, but does not frame them.
func readMPUB(r *bufio.Reader, maxBody, maxMsg int64) ([][]byte, error) {
	total, err := protocol.ReadInt32(r)
	if err != nil {
		return nil, protocol.NewFatal(protocol.ErrBadBody, "MPUB failed to read body size")
	}
	if total <= 0 {
		return nil, protocol.NewFatal(protocol.ErrBadBody, fmt.Sprintf("MPUB invalid body size %d", total))
	}
	if int64(total) > maxBody {
		return nil, protocol.NewFatal(protocol.ErrBadBody, fmt.Sprintf("MPUB body too big %d > %d", total, maxBody))
	}
	return protocol.ReadMPUB(r, int(total), maxBody, maxMsg)
}
