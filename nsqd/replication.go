package nsqd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/replgroup"
	"github.com/dropin/nsq/internal/replication"
)

// A replicated cluster (--replication-peers, issue 15): node i's group i
// holds what is published to node i and is replicated to the next R−1
// nodes of the peer list. This node runs one replgroup.Member per group it
// belongs to, all over one TCP transport that routes frames by group id,
// each in <data>/groups/<g>/. Publishing goes to the own group (forwarded
// to its leader while this node does not lead it, and answered once
// committed); a channel here delivers the messages of every group this
// node leads (replication_channel.go); the watch loop below makes the
// topics and channels of every group exist here (so lookupd lists every
// member) and takes the own group's leadership back once caught up.

// replWatchInterval is how often the watch loop looks at the groups.
const replWatchInterval = 200 * time.Millisecond

// replTransferEvery spaces requests to take the own group's leadership
// back.
const replTransferEvery = 2 * time.Second

// replSet is this node's part of the replicated cluster.
type replSet struct {
	cfg     *replConfig
	tr      *replication.TCPTransport
	members []*replgroup.Member // this node's groups, its own first
	byGroup map[uint64]*replgroup.Member
	log     *lg.Leveled

	mu       sync.Mutex           // guards proposed, deleted
	proposed map[string]time.Time // channel creations proposed by the watch loop, by group/topic/channel
	deleted  map[string]time.Time // local deletes, by "topic" or "topic:channel"

	fresh bool       // started with no replication state at all (replication_member.go)
	heard *replHeard // member ids heard from, per group

	ctlMu   sync.Mutex                       // guards answers, hellos (replication_control.go)
	answers map[uint64]map[uint64]replAnswer // by node, then group
	hellos  map[uint64]replHello             // by node

	rec replReconcileState // owned by the reconcile loop
}

// replDeleteMemory is how long a local delete keeps the watch loop from
// recreating the topic or channel from another group's log that has not
// applied the delete yet.
const replDeleteMemory = 30 * time.Second

// fanOut proposes op in every group of this node but its own (forwarded to
// their leaders, not awaited), and remembers deletes ("delete topic T",
// "delete channel T:C", as logMode.doAll names them).
func (rs *replSet) fanOut(what string, op func(e *brokerlog.Engine) *logstore.Proposal) {
	for _, key := range []string{"delete topic ", "delete channel "} {
		if name, ok := strings.CutPrefix(what, key); ok {
			rs.mu.Lock()
			rs.deleted[name] = time.Now()
			rs.mu.Unlock()
		}
	}
	for _, m := range rs.members[1:] {
		op(m.Engine())
	}
}

// recentlyDeleted tells whether the topic (channel "") or channel was
// deleted here lately.
func (rs *replSet) recentlyDeleted(topic, channel string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for k, at := range rs.deleted {
		if time.Since(at) > replDeleteMemory {
			delete(rs.deleted, k)
		}
	}
	if _, ok := rs.deleted[topic]; ok {
		return true
	}
	_, ok := rs.deleted[topic+":"+channel]
	return channel != "" && ok
}

// checkpoint checkpoints every group's state, so a restart replays less
// (the groups' raft loops snapshot and compact their logs themselves:
// replgroup).
func (rs *replSet) checkpoint() {
	for _, m := range rs.members {
		e := m.Engine()
		if idx, _ := e.LastCheckpoint(); idx == e.State().Applied() {
			continue
		}
		if _, err := e.Checkpoint(); err != nil {
			rs.log.Logf(lg.ERROR, "REPLICATION(group %d): checkpoint failed: %s", m.Group(), err)
		}
	}
}

// close stops every member, then the transport.
func (rs *replSet) close() {
	for _, m := range rs.members {
		if err := m.Shutdown(); err != nil {
			rs.log.Logf(lg.ERROR, "REPLICATION(group %d): close: %s", m.Group(), err)
		}
	}
	if rs.tr != nil {
		rs.tr.Close()
	}
}

// replWatch runs the watch loop until exit.
func (n *NSQD) replWatch() {
	rs := n.lm.repl
	tick := time.NewTicker(replWatchInterval)
	defer tick.Stop()
	var lastTransfer time.Time
	for {
		select {
		case <-tick.C:
		case <-n.exitCh:
			return
		}
		for _, m := range rs.members {
			n.replicaTopics(m)
		}
		for _, m := range rs.members {
			if m.IsLeader() {
				rs.createMissingChannels(n, m)
			}
		}
		if own := rs.members[0]; !own.IsLeader() && own.Node().Leader() != 0 && time.Since(lastTransfer) > replTransferEvery {
			// only as a voter: a rejoining member is a learner first
			if st := own.Node().Status(); st.Applied >= st.Commit && st.Commit > 0 && slices.Contains(st.Voters, own.ID()) {
				ctx, cancel := context.WithTimeout(context.Background(), replTransferEvery)
				if err := own.Node().TransferLeader(ctx, own.ID()); err == nil {
					n.log.Logf(lg.INFO, "REPLICATION(group %d): leading again", rs.cfg.self)
				}
				cancel()
				lastTransfer = time.Now()
			}
		}
	}
}

// replicaTopics creates here the topics and channels m's log holds, without
// proposing them again, so every member serves and registers them.
func (n *NSQD) replicaTopics(m *replgroup.Member) {
	st := m.Engine().State()
	for _, ti := range st.Topics() {
		if !names.IsValidTopicName(ti.Name) || names.IsEphemeral(ti.Name) || n.lm.repl.recentlyDeleted(ti.Name, "") {
			continue
		}
		t, err := n.getTopic(ti.Name, false)
		if err != nil {
			continue // exiting
		}
		for _, ch := range ti.Channels {
			if names.IsEphemeral(ch) || !names.IsValidChannelName(ch) || n.lm.repl.recentlyDeleted(ti.Name, ch) {
				continue
			}
			if _, ok := t.getExistingChannel(ch); !ok {
				t.getChannel(ch, false)
			}
		}
	}
}

// createMissingChannels proposes, in a group this node leads, the channels
// this node has for topics of that group's log that the log lacks: so a
// consumer of this node's channel gets that group's messages too (after a
// failover, the dead node's backlog). Each is proposed at most every 5s.
func (rs *replSet) createMissingChannels(n *NSQD, m *replgroup.Member) {
	st := m.Engine().State()
	for _, t := range n.topicList() {
		ti, ok := st.Topic(t.name)
		if !ok || t.ephemeral {
			continue
		}
		for _, c := range t.Channels() {
			if c.ephemeral || slices.Contains(ti.Channels, c.name) {
				continue
			}
			key := fmt.Sprintf("%d/%s/%s", m.Group(), t.name, c.name)
			rs.mu.Lock()
			due := time.Since(rs.proposed[key]) > 5*time.Second
			if due {
				rs.proposed[key] = time.Now()
			}
			rs.mu.Unlock()
			if due {
				m.Engine().CreateChannel(t.name, c.name, brokerlog.Start{Mode: brokerlog.StartLatest})
			}
		}
	}
}

// isReplicationFailure tells whether a publish failed for want of a
// quorum (no commit within the bounded wait, no leader, a leader change):
// HTTP answers 503 then, as for any temporary unavailability.
func isReplicationFailure(err error) bool {
	return errors.Is(err, replication.ErrTimeout) || errors.Is(err, replication.ErrNotLeader) ||
		errors.Is(err, replication.ErrDropped) || errors.Is(err, replication.ErrStopped)
}
