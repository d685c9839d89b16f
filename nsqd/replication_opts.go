package nsqd

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// defaultReplicationFactor is --replication-factor when peers are given.
const defaultReplicationFactor = 3

// defaultReplicationProposeTimeout bounds a replicated publish's wait for
// its commit (--replication-propose-timeout).
const defaultReplicationProposeTimeout = 5 * time.Second

// defaultReplicationSnapshotEntries is --replication-snapshot-entries'
// default: a group snapshots (checkpoint, fsynced, on its raft loop) and
// compacts its log every that many applied entries. Segments are 64 MiB
// by default, so snapshotting much more often would remove nothing more.
const defaultReplicationSnapshotEntries = 50000

// replicationCatchUpEntries is how many entries below a snapshot a group's
// log keeps besides what its channels need, so a follower a little behind
// catches up from the log rather than through a snapshot.
const replicationCatchUpEntries = 5000

// replConfig is the parsed replication configuration.
type replConfig struct {
	self    uint64
	factor  int
	address string            // this node's replication listener
	ids     []uint64          // ring order: ascending node id
	addrs   map[uint64]string // node id → replication address
}

// parseReplication checks the replication options; ok is false when
// replication is off. Every message names the flag at fault.
func parseReplication(o *Options) (cfg *replConfig, err error) {
	if o.ReplicationPeers == "" {
		switch {
		case o.ReplicationAddress != "":
			return nil, fmt.Errorf("--replication-address needs --replication-peers")
		case o.ReplicationFactor != 0:
			return nil, fmt.Errorf("--replication-factor needs --replication-peers")
		}
		return nil, nil
	}
	cfg = &replConfig{addrs: map[uint64]string{}, factor: o.ReplicationFactor, address: o.ReplicationAddress}
	for _, item := range strings.Split(o.ReplicationPeers, ",") {
		item = strings.TrimSpace(item)
		idText, addr, found := strings.Cut(item, "=")
		id, perr := strconv.ParseUint(idText, 10, 64)
		if !found || perr != nil || id == 0 || id >= 1024 {
			return nil, fmt.Errorf("--replication-peers: %q is not <node-id>=<host>:<port> with a node id in [1,1024)", item)
		}
		if _, _, serr := net.SplitHostPort(addr); serr != nil {
			return nil, fmt.Errorf("--replication-peers: %q: %v", item, serr)
		}
		if _, dup := cfg.addrs[id]; dup {
			return nil, fmt.Errorf("--replication-peers: node id %d is listed twice", id)
		}
		cfg.addrs[id] = addr
		cfg.ids = append(cfg.ids, id)
	}
	slices.Sort(cfg.ids)
	if cfg.factor == 0 {
		cfg.factor = min(defaultReplicationFactor, len(cfg.ids))
	}
	cfg.self = uint64(o.ID)
	mine, listed := cfg.addrs[cfg.self]
	switch {
	case cfg.factor < 1:
		return nil, fmt.Errorf("--replication-factor must be >= 1, not %d", cfg.factor)
	case cfg.factor > len(cfg.ids):
		return nil, fmt.Errorf("--replication-factor %d is more than the %d nodes of --replication-peers", cfg.factor, len(cfg.ids))
	case o.ReplicationAddress == "":
		return nil, fmt.Errorf("--replication-peers needs --replication-address (this node's entry of the list)")
	case !listed:
		for id, a := range cfg.addrs {
			if a == o.ReplicationAddress {
				return nil, fmt.Errorf("--node-id %d does not match --replication-peers, which gives %s to node %d", o.ID, a, id)
			}
		}
		return nil, fmt.Errorf("--node-id %d is not in --replication-peers", o.ID)
	case mine != o.ReplicationAddress:
		return nil, fmt.Errorf("--replication-address %s is not node %d's entry in --replication-peers (%s)", o.ReplicationAddress, o.ID, mine)
	}
	return cfg, nil
}

// members returns group g's members: g and the next factor−1 nodes of the
// ring; nil for a group whose node is not in the list (a removed node's
// group, still served by its members until drained).
func (c *replConfig) members(g uint64) []uint64 {
	at := slices.Index(c.ids, g)
	if at < 0 {
		return nil
	}
	out := make([]uint64, 0, c.factor)
	for k := 0; k < c.factor; k++ {
		out = append(out, c.ids[(at+k)%len(c.ids)])
	}
	return out
}

// myGroups returns the groups this node belongs to, its own first.
func (c *replConfig) myGroups() []uint64 {
	out := []uint64{c.self}
	for _, g := range c.ids {
		if g != c.self && slices.Contains(c.members(g), c.self) {
			out = append(out, g)
		}
	}
	return out
}

// canonical is the factor and the peer list in one spelling, compared
// between nodes before a membership change (replication_reconcile.go).
func (c *replConfig) canonical() string {
	parts := make([]string, 0, len(c.ids)+1)
	parts = append(parts, fmt.Sprintf("factor=%d", c.factor))
	for _, id := range c.ids {
		parts = append(parts, fmt.Sprintf("%d=%s", id, c.addrs[id]))
	}
	return strings.Join(parts, ",")
}
