package replication

import (
	"bytes"
	"hash/maphash"
	"time"
)

// Forwarding (Options.ForwardProposals): a follower that knows its leader
// hands a proposal to raft, which sends it to the leader (MsgProp). The
// follower never learns the entry's index, so it matches the proposal by
// content when an applied entry carries the same kind and data. Payloads
// that must be told apart need something unique in them (brokerlog's
// publishes carry message IDs; topic and channel changes are idempotent, so
// matching an equal one is right). A forwarded proposal that is lost on the
// way (a leader change) fails with ErrTimeout: unknown, never OK.

var fwdSeed = maphash.MakeSeed()

type fwdKey uint64

func fwdHash(data []byte) fwdKey { return fwdKey(maphash.Bytes(fwdSeed, data)) }

// proposeForward forwards ps to leader lead; called by the loop on a
// follower. data is the entry data (kind byte + payload).
func (n *Node) proposeForward(ps []*Proposal, lead uint64) {
	for _, p := range ps {
		data := make([]byte, 0, 1+len(p.data))
		data = append(append(data, byte(p.kind)), p.data...)
		if err := n.rn.Propose(data); err != nil {
			p.finish(0, &NotLeaderError{Leader: lead})
			continue
		}
		if n.forwarded == nil {
			n.forwarded = map[fwdKey][]*Proposal{}
		}
		p.fwdData = data
		k := fwdHash(data)
		n.forwarded[k] = append(n.forwarded[k], p)
	}
}

// matchForwarded completes the oldest forwarded proposal equal to the
// applied entry data, if any.
func (n *Node) matchForwarded(idx uint64, data []byte) {
	if len(n.forwarded) == 0 || len(data) == 0 {
		return
	}
	k := fwdHash(data)
	list := n.forwarded[k]
	for i, p := range list {
		if bytes.Equal(p.fwdData, data) {
			list = append(list[:i], list[i+1:]...)
			if len(list) == 0 {
				delete(n.forwarded, k)
			} else {
				n.forwarded[k] = list
			}
			p.finish(idx, nil)
			return
		}
	}
}

// expireForwarded fails forwarded proposals past their deadline.
func (n *Node) expireForwarded(now time.Time) {
	for k, list := range n.forwarded {
		kept := list[:0]
		for _, p := range list {
			if now.After(p.deadline) {
				p.finish(0, ErrTimeout)
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) == 0 {
			delete(n.forwarded, k)
		} else {
			n.forwarded[k] = kept
		}
	}
}

// failForwarded fails every forwarded proposal (the node stops).
func (n *Node) failForwarded(err error) {
	for k, list := range n.forwarded {
		for _, p := range list {
			p.finish(0, err)
		}
		delete(n.forwarded, k)
	}
}
