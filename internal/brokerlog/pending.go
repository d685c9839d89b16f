package brokerlog

import (
	"sort"
	"sync"

	"github.com/dropin/nsq/internal/logstore"
)

// pendingState collects FIN/REQ/attempt records between commit rounds.
// Safe for concurrent use.
type pendingState struct {
	mu    sync.Mutex // guards chans
	chans map[chanKey]*chanPending
}

type chanKey struct{ topic, channel string }

type chanPending struct {
	fins     rangeSet
	requeued map[uint64]Requeue
	attempts map[uint64]uint16
}

func (p *pendingState) init() { p.chans = map[chanKey]*chanPending{} }

func (p *pendingState) getLocked(topic, channel string) *chanPending {
	k := chanKey{topic, channel}
	c := p.chans[k]
	if c == nil {
		c = &chanPending{requeued: map[uint64]Requeue{}, attempts: map[uint64]uint16{}}
		p.chans[k] = c
	}
	return c
}

func (p *pendingState) finish(topic, channel string, seq uint64) {
	p.mu.Lock()
	c := p.getLocked(topic, channel)
	c.fins.add(seq, seq+1)
	delete(c.requeued, seq)
	delete(c.attempts, seq)
	p.mu.Unlock()
}

func (p *pendingState) requeue(topic, channel string, r Requeue) {
	p.mu.Lock()
	c := p.getLocked(topic, channel)
	c.requeued[r.Seq] = r
	delete(c.attempts, r.Seq)
	p.mu.Unlock()
}

func (p *pendingState) attempt(topic, channel string, a Attempt) {
	p.mu.Lock()
	p.getLocked(topic, channel).attempts[a.Seq] = a.Attempts
	p.mu.Unlock()
}

// gather drains everything collected into one KindChannelState record.
func (p *pendingState) gather() []logstore.Record {
	p.mu.Lock()
	if len(p.chans) == 0 {
		p.mu.Unlock()
		return nil
	}
	chans := p.chans
	p.chans = map[chanKey]*chanPending{}
	p.mu.Unlock()
	states := make([]ChannelState, 0, len(chans))
	for k, c := range chans {
		cs := ChannelState{Topic: k.topic, Channel: k.channel, Finished: c.fins}
		for _, r := range c.requeued {
			cs.Requeued = append(cs.Requeued, r)
		}
		sort.Slice(cs.Requeued, func(i, j int) bool { return cs.Requeued[i].Seq < cs.Requeued[j].Seq })
		for s, a := range c.attempts {
			cs.Attempts = append(cs.Attempts, Attempt{s, a})
		}
		sort.Slice(cs.Attempts, func(i, j int) bool { return cs.Attempts[i].Seq < cs.Attempts[j].Seq })
		states = append(states, cs)
	}
	sort.Slice(states, func(i, j int) bool {
		if states[i].Topic != states[j].Topic {
			return states[i].Topic < states[j].Topic
		}
		return states[i].Channel < states[j].Channel
	})
	return []logstore.Record{{Kind: KindChannelState, Data: EncodeChannelStates(nil, states)}}
}
