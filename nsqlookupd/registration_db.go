package nsqlookupd

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/names"
)

// Registration categories.
const (
	categoryClient  = "client"
	categoryTopic   = "topic"
	categoryChannel = "channel"
)

// registration is a key of the registration table: ("client","",""),
// ("topic",t,"") or ("channel",t,c).
type registration struct {
	Category string
	Key      string
	SubKey   string
}

// String returns the key as /debug shows it, e.g. "channel:t:c".
func (r registration) String() string { return r.Category + ":" + r.Key + ":" + r.SubKey }

var clientRegistration = registration{categoryClient, "", ""}

func topicRegistration(topic string) registration {
	return registration{categoryTopic, topic, ""}
}

func channelRegistration(topic, channel string) registration {
	return registration{categoryChannel, topic, channel}
}

// peerInfo describes one identified nsqd connection. It is shared by all
// of that connection's registrations. The embedded Peer (what IDENTIFY
// says, and what /lookup serves) is written once by IDENTIFY, before the
// peer is published to the registrationDB, and is read-only afterwards;
// lastUpdate is atomic.
type peerInfo struct {
	lastUpdate atomic.Int64 // unix ns of the last IDENTIFY or PING
	id         string       // the connection's remote ip:port

	clusterinfo.Peer
}

// isActive reports whether the peer pinged within timeout of now.
func (p *peerInfo) isActive(now time.Time, timeout time.Duration) bool {
	return now.Sub(time.Unix(0, p.lastUpdate.Load())) <= timeout
}

// node is how a tombstone request names a producer: broadcast_address:http_port.
// NSQ formats it without IPv6 brackets; we accept both spellings.
func (p *peerInfo) matchesNode(node string) bool {
	port := strconv.Itoa(p.HTTPPort)
	return p.BroadcastAddress+":"+port == node || net.JoinHostPort(p.BroadcastAddress, port) == node
}

// producer is one peer's entry under one registration. Tombstone state is
// per (registration, peer).
type producer struct {
	peer         *peerInfo
	tombstoned   bool      // guarded by registrationDB.mu
	tombstonedAt time.Time // guarded by registrationDB.mu
}

func (p *producer) isTombstonedLocked(now time.Time, lifetime time.Duration) bool {
	return p.tombstoned && now.Sub(p.tombstonedAt) < lifetime
}

// producerSet maps peer id → that peer's entry under one registration.
type producerSet map[string]*producer

// registrationDB is nsqlookupd's in-memory directory: which peers produce
// which topics and channels. Keys may exist with no producers (created
// over HTTP or left behind by UNREGISTER and disconnects). It is safe for
// concurrent use; each method is atomic.
type registrationDB struct {
	inactiveTimeout   time.Duration
	tombstoneLifetime time.Duration
	now               func() time.Time

	mu sync.RWMutex // guards regs, channels, peers and every producer's tombstone state
	// regs is the table itself.
	regs map[registration]producerSet
	// channels indexes the channel keys: topic → channel → present. An
	// entry exists exactly when regs has channel:topic:channel.
	channels map[string]map[string]struct{}
	// peers indexes producers: peer id → keys whose producerSet holds it.
	peers map[string]map[registration]struct{}
}

func newRegistrationDB(inactiveTimeout, tombstoneLifetime time.Duration) *registrationDB {
	return &registrationDB{
		inactiveTimeout:   inactiveTimeout,
		tombstoneLifetime: tombstoneLifetime,
		now:               time.Now,
		regs:              map[registration]producerSet{},
		channels:          map[string]map[string]struct{}{},
		peers:             map[string]map[registration]struct{}{},
	}
}

// ensureKeyLocked creates k if needed and returns its producers.
func (db *registrationDB) ensureKeyLocked(k registration) producerSet {
	ps, ok := db.regs[k]
	if !ok {
		ps = producerSet{}
		db.regs[k] = ps
		if k.Category == categoryChannel {
			chans := db.channels[k.Key]
			if chans == nil {
				chans = map[string]struct{}{}
				db.channels[k.Key] = chans
			}
			chans[k.SubKey] = struct{}{}
		}
	}
	return ps
}

// addProducerLocked adds peer under k (creating k) unless it is already
// there, in which case its entry, tombstone included, is kept.
func (db *registrationDB) addProducerLocked(k registration, peer *peerInfo) bool {
	ps := db.ensureKeyLocked(k)
	if _, ok := ps[peer.id]; ok {
		return false
	}
	ps[peer.id] = &producer{peer: peer}
	keys := db.peers[peer.id]
	if keys == nil {
		keys = map[registration]struct{}{}
		db.peers[peer.id] = keys
	}
	keys[k] = struct{}{}
	return true
}

// removeProducerLocked removes peer id from k, leaving k in place. It
// reports whether the peer was there and how many producers k has left.
func (db *registrationDB) removeProducerLocked(k registration, id string) (bool, int) {
	ps, ok := db.regs[k]
	if !ok {
		return false, 0
	}
	_, removed := ps[id]
	if removed {
		delete(ps, id)
		db.forgetPeerKeyLocked(id, k)
	}
	return removed, len(ps)
}

func (db *registrationDB) forgetPeerKeyLocked(id string, k registration) {
	keys := db.peers[id]
	delete(keys, k)
	if len(keys) == 0 {
		delete(db.peers, id)
	}
}

// removeKeyLocked deletes k and its producers.
func (db *registrationDB) removeKeyLocked(k registration) bool {
	ps, ok := db.regs[k]
	if !ok {
		return false
	}
	for id := range ps {
		db.forgetPeerKeyLocked(id, k)
	}
	delete(db.regs, k)
	if k.Category == categoryChannel {
		chans := db.channels[k.Key]
		delete(chans, k.SubKey)
		if len(chans) == 0 {
			delete(db.channels, k.Key)
		}
	}
	return true
}

// addClient records an identified peer under client::.
func (db *registrationDB) addClient(peer *peerInfo) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.addProducerLocked(clientRegistration, peer)
}

// register adds peer as a producer of topic and, if channel is not empty,
// of topic's channel. It returns the keys the peer was newly added to.
func (db *registrationDB) register(peer *peerInfo, topic, channel string) []registration {
	db.mu.Lock()
	defer db.mu.Unlock()
	var added []registration
	if channel != "" {
		if k := channelRegistration(topic, channel); db.addProducerLocked(k, peer) {
			added = append(added, k)
		}
	}
	if k := topicRegistration(topic); db.addProducerLocked(k, peer) {
		added = append(added, k)
	}
	return added
}

// unregister withdraws peer id as NSQ's UNREGISTER does. With a channel it
// leaves that channel only, and an ephemeral channel key left without
// producers is deleted. Without a channel it leaves the topic and every
// channel of it, and an ephemeral topic key left without producers is
// deleted (its channel keys stay). It returns the keys the peer left.
func (db *registrationDB) unregister(id, topic, channel string) []registration {
	db.mu.Lock()
	defer db.mu.Unlock()
	var removed []registration
	if channel != "" {
		k := channelRegistration(topic, channel)
		if db.unregisterKeyLocked(k, id, names.IsEphemeral(channel)) {
			removed = append(removed, k)
		}
		return removed
	}
	for c := range db.channels[topic] {
		k := channelRegistration(topic, c)
		if ok, _ := db.removeProducerLocked(k, id); ok {
			removed = append(removed, k)
		}
	}
	k := topicRegistration(topic)
	if db.unregisterKeyLocked(k, id, names.IsEphemeral(topic)) {
		removed = append(removed, k)
	}
	return removed
}

// unregisterKeyLocked removes peer id from k, and k itself when that left
// it without producers and it is ephemeral. It reports whether id was
// registered under k.
func (db *registrationDB) unregisterKeyLocked(k registration, id string, ephemeral bool) bool {
	ok, left := db.removeProducerLocked(k, id)
	if left == 0 && ephemeral {
		db.removeKeyLocked(k)
	}
	return ok
}

// removePeer removes peer id from every key (client:: included); the keys
// stay, even ephemeral ones. It returns how many entries were removed.
func (db *registrationDB) removePeer(id string) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	keys := db.peers[id]
	for k := range keys {
		delete(db.regs[k], id)
	}
	delete(db.peers, id)
	return len(keys)
}

// createTopic makes sure topic:t: exists.
func (db *registrationDB) createTopic(topic string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.ensureKeyLocked(topicRegistration(topic))
}

// createChannel makes sure channel:t:c and topic:t: exist.
func (db *registrationDB) createChannel(topic, channel string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.ensureKeyLocked(channelRegistration(topic, channel))
	db.ensureKeyLocked(topicRegistration(topic))
}

// deleteTopic deletes every channel key of topic and the topic key, with
// their producers. It returns how many keys it deleted.
func (db *registrationDB) deleteTopic(topic string) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	n := 0
	for c := range db.channels[topic] {
		if db.removeKeyLocked(channelRegistration(topic, c)) {
			n++
		}
	}
	if db.removeKeyLocked(topicRegistration(topic)) {
		n++
	}
	return n
}

// deleteChannel deletes channel:t:c and reports whether it existed.
func (db *registrationDB) deleteChannel(topic, channel string) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.removeKeyLocked(channelRegistration(topic, channel))
}

// tombstone marks, as of now, every producer of topic whose
// broadcast_address:http_port is node. It returns how many it marked.
func (db *registrationDB) tombstone(topic, node string) int {
	now := db.now()
	db.mu.Lock()
	defer db.mu.Unlock()
	n := 0
	for _, p := range db.regs[topicRegistration(topic)] {
		if p.peer.matchesNode(node) {
			p.tombstoned = true
			p.tombstonedAt = now
			n++
		}
	}
	return n
}

// topics returns every topic key, sorted; never nil.
func (db *registrationDB) topics() []string {
	db.mu.RLock()
	defer db.mu.RUnlock()
	out := []string{}
	for k := range db.regs {
		if k.Category == categoryTopic {
			out = append(out, k.Key)
		}
	}
	slices.Sort(out)
	return out
}

// channelsOf returns every channel key of topic, sorted; never nil.
func (db *registrationDB) channelsOf(topic string) []string {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.channelsOfLocked(topic)
}

func (db *registrationDB) channelsOfLocked(topic string) []string {
	out := make([]string, 0, len(db.channels[topic]))
	for c := range db.channels[topic] {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// lookup returns topic's channels and its active, untombstoned producers
// (both never nil, producers ordered by peer id), or ok false when there
// is no topic key.
func (db *registrationDB) lookup(topic string) (channels []string, producers []*peerInfo, ok bool) {
	now := db.now()
	db.mu.RLock()
	defer db.mu.RUnlock()
	ps, ok := db.regs[topicRegistration(topic)]
	if !ok {
		return nil, nil, false
	}
	producers = []*peerInfo{}
	for _, p := range ps {
		if p.peer.isActive(now, db.inactiveTimeout) && !p.isTombstonedLocked(now, db.tombstoneLifetime) {
			producers = append(producers, p.peer)
		}
	}
	slices.SortFunc(producers, func(a, b *peerInfo) int { return cmp.Compare(a.id, b.id) })
	return db.channelsOfLocked(topic), producers, true
}

// nodes returns the entries of /nodes: every active identified peer (tombstoned or not) with the
// topics it produces and, at the same index, whether it is tombstoned for
// that topic. Ordered by peer id; never nil.
func (db *registrationDB) nodes() []*clusterinfo.Node {
	now := db.now()
	db.mu.RLock()
	defer db.mu.RUnlock()
	out := []*clusterinfo.Node{}
	clients := db.regs[clientRegistration]
	ids := make([]string, 0, len(clients))
	for id := range clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		peer := clients[id].peer
		if !peer.isActive(now, db.inactiveTimeout) {
			continue
		}
		topics := []string{}
		for k := range db.peers[id] {
			if k.Category == categoryTopic {
				topics = append(topics, k.Key)
			}
		}
		slices.Sort(topics)
		tombstones := make([]bool, len(topics))
		for i, t := range topics {
			if p := db.regs[topicRegistration(t)][id]; p != nil {
				tombstones[i] = p.isTombstonedLocked(now, db.tombstoneLifetime)
			}
		}
		out = append(out, &clusterinfo.Node{Peer: peer.Peer, Tombstones: tombstones, Topics: topics})
	}
	return out
}

// debugEntry is one producer in the /debug dump. Fields are in alphabetical
// order because NSQ marshals a map here.
type debugEntry struct {
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	ID               string `json:"id"`
	LastUpdate       int64  `json:"last_update"`
	TCPPort          int    `json:"tcp_port"`
	Tombstoned       bool   `json:"tombstoned"`
	// TombstonedAt is the tombstone time in unix ns. For a never
	// tombstoned entry NSQ reports the zero time's UnixNano, which
	// overflows; we keep that value for compatibility.
	TombstonedAt   int64  `json:"tombstoned_at"`
	TopologyRegion string `json:"topology_region"`
	TopologyZone   string `json:"topology_zone"`
	Version        string `json:"version"`
}

// debug dumps every key that has producers, keyed "category:key:subkey";
// entries ordered by peer id.
func (db *registrationDB) debug() map[string][]debugEntry {
	db.mu.RLock()
	defer db.mu.RUnlock()
	out := map[string][]debugEntry{}
	for k, ps := range db.regs {
		if len(ps) == 0 {
			continue
		}
		entries := make([]debugEntry, 0, len(ps))
		for _, p := range ps {
			entries = append(entries, debugEntry{
				BroadcastAddress: p.peer.BroadcastAddress,
				Hostname:         p.peer.Hostname,
				HTTPPort:         p.peer.HTTPPort,
				ID:               p.peer.id,
				LastUpdate:       p.peer.lastUpdate.Load(),
				TCPPort:          p.peer.TCPPort,
				Tombstoned:       p.tombstoned,
				TombstonedAt:     p.tombstonedAt.UnixNano(),
				TopologyRegion:   p.peer.TopologyRegion,
				TopologyZone:     p.peer.TopologyZone,
				Version:          p.peer.Version,
			})
		}
		slices.SortFunc(entries, func(a, b debugEntry) int { return cmp.Compare(a.ID, b.ID) })
		out[k.String()] = entries
	}
	return out
}
