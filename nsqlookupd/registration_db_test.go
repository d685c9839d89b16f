package nsqlookupd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
)

// checkInvariants verifies that the indexes agree with the table. Tests
// call it after concurrent use.
func (db *registrationDB) checkInvariants() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	nChannels := 0
	for topic, chans := range db.channels {
		if len(chans) == 0 {
			return fmt.Errorf("empty channel index for topic %q", topic)
		}
		for c := range chans {
			nChannels++
			if _, ok := db.regs[channelRegistration(topic, c)]; !ok {
				return fmt.Errorf("channel index has %s:%s without a key", topic, c)
			}
		}
	}
	nEntries := 0
	for k, ps := range db.regs {
		if k.Category == categoryChannel {
			nChannels--
		}
		for id, p := range ps {
			nEntries++
			if p.peer.id != id {
				return fmt.Errorf("%s: entry %q holds peer %q", k, id, p.peer.id)
			}
			if _, ok := db.peers[id][k]; !ok {
				return fmt.Errorf("%s: peer %q missing from the peer index", k, id)
			}
		}
	}
	if nChannels != 0 {
		return fmt.Errorf("channel index and table disagree by %d keys", nChannels)
	}
	for id, keys := range db.peers {
		if len(keys) == 0 {
			return fmt.Errorf("empty peer index for %q", id)
		}
		for k := range keys {
			nEntries--
			if _, ok := db.regs[k][id]; !ok {
				return fmt.Errorf("peer index lists %q under %s but the table does not", id, k)
			}
		}
	}
	if nEntries != 0 {
		return fmt.Errorf("peer index and table disagree by %d entries", nEntries)
	}
	return nil
}

// testClock is a settable clock for the registrationDB.
type testClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newTestPeer(id string, lastUpdate time.Time) *peerInfo {
	p := &peerInfo{id: id, Peer: clusterinfo.Peer{Identity: clusterinfo.Identity{
		RemoteAddress: id, BroadcastAddress: "b-" + id, TCPPort: 4150, HTTPPort: 4151, Version: "1.3.0"}}}
	p.lastUpdate.Store(lastUpdate.UnixNano())
	return p
}

func lookupIDs(tb testing.TB, db *registrationDB, topic string) string {
	tb.Helper()
	_, producers, ok := db.lookup(topic)
	if !ok {
		return "<not found>"
	}
	ids := make([]string, len(producers))
	for i, p := range producers {
		ids[i] = p.id
	}
	return strings.Join(ids, ",")
}

func TestDBInactivityBoundary(t *testing.T) {
	start := time.Unix(1000, 0)
	clock := &testClock{now: start}
	db := newRegistrationDB(10*time.Second, time.Minute)
	db.now = clock.Now
	p := newTestPeer("p", start)
	db.addClient(p)
	db.register(p, "t", "")

	cases := []struct {
		at     time.Duration
		active bool
	}{
		{0, true},
		{10 * time.Second, true}, // inactive only when strictly older
		{10*time.Second + 1, false},
		{time.Hour, false},
	}
	for _, c := range cases {
		t.Run(c.at.String(), func(t *testing.T) {
			clock.Set(start.Add(c.at))
			want := ""
			if c.active {
				want = "p"
			}
			expectEq(t, "lookup", lookupIDs(t, db, "t"), want)
			if got := len(db.nodes()); got != len(want) {
				t.Fatalf("nodes: %d", got)
			}
		})
	}
	// a PING (new lastUpdate) makes it active again
	p.lastUpdate.Store(clock.Now().UnixNano())
	expectEq(t, "lookup after ping", lookupIDs(t, db, "t"), "p")
}

func TestDBTombstoneBoundary(t *testing.T) {
	start := time.Unix(1000, 0)
	clock := &testClock{now: start}
	db := newRegistrationDB(time.Hour, 45*time.Second)
	db.now = clock.Now
	a, b := newTestPeer("a", start), newTestPeer("b", start)
	b.HTTPPort = 5151
	for _, p := range []*peerInfo{a, b} {
		db.addClient(p)
		db.register(p, "t", "c")
		db.register(p, "u", "")
	}
	if got := db.tombstone("t", "b-a:4151"); got != 1 {
		t.Fatalf("tombstone matched %d", got)
	}
	cases := []struct {
		at         time.Duration
		tombstoned bool
	}{
		{0, true},
		{45*time.Second - 1, true},
		{45 * time.Second, false}, // visible again once the lifetime has passed
	}
	for _, c := range cases {
		t.Run(c.at.String(), func(t *testing.T) {
			clock.Set(start.Add(c.at))
			want := "a,b"
			if c.tombstoned {
				want = "b"
			}
			expectEq(t, "lookup t", lookupIDs(t, db, "t"), want)
			expectEq(t, "lookup u", lookupIDs(t, db, "u"), "a,b")
			for _, nd := range db.nodes() {
				wantTS := "[false false]"
				if nd.RemoteAddress == "a" && c.tombstoned {
					wantTS = "[true false]"
				}
				expectEq(t, "tombstones of "+nd.RemoteAddress, fmt.Sprint(nd.Tombstones), wantTS)
			}
		})
	}
}

func TestDBTombstoneNodeSpelling(t *testing.T) {
	db := newRegistrationDB(time.Hour, time.Hour)
	v6 := newTestPeer("v6", time.Now())
	v6.BroadcastAddress = "::1"
	db.register(v6, "t", "")
	for _, node := range []string{"::1:4150", "::1", "[::1]:4150"} {
		if got := db.tombstone("t", node); got != 0 {
			t.Fatalf("tombstone(%q) matched %d", node, got)
		}
	}
	for _, node := range []string{"::1:4151", "[::1]:4151"} { // NSQ's spelling and JoinHostPort's
		if got := db.tombstone("t", node); got != 1 {
			t.Fatalf("tombstone(%q) matched %d", node, got)
		}
	}
}

func TestDBKeysWithoutProducers(t *testing.T) {
	db := newRegistrationDB(time.Hour, time.Hour)
	db.createChannel("t", "c")
	if chans, producers, ok := db.lookup("t"); !ok || fmt.Sprint(chans) != "[c]" || producers == nil || len(producers) != 0 {
		t.Fatalf("lookup: %v %v %v", chans, producers, ok)
	}
	if got := db.debug(); len(got) != 0 {
		t.Fatalf("debug: %v", got)
	}
	if !db.deleteChannel("t", "c") || db.deleteChannel("t", "c") {
		t.Fatal("deleteChannel results")
	}
	if err := db.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestDBConcurrent hammers one registrationDB from writer, reader and
// admin goroutines, then drives every peer to a known final state and
// checks it, the indexes, and disconnects.
func TestDBConcurrent(t *testing.T) {
	const (
		workers = 8
		ops     = 1500
		nTopics = 6
	)
	db := newRegistrationDB(time.Hour, time.Hour)
	topicName := func(i int) string {
		if i%3 == 2 {
			return fmt.Sprintf("t%d#ephemeral", i)
		}
		return fmt.Sprintf("t%d", i)
	}
	channelName := func(i int) string {
		if i%2 == 1 {
			return fmt.Sprintf("c%d#ephemeral", i)
		}
		return fmt.Sprintf("c%d", i)
	}
	peers := make([]*peerInfo, workers)
	for w := range peers {
		peers[w] = newTestPeer(fmt.Sprintf("127.0.0.1:%d", 10000+w), time.Now())
		peers[w].HTTPPort = 20000 + w
		db.addClient(peers[w])
	}

	// readers run a bounded number of queries alongside the writers
	reader := func(wg *sync.WaitGroup, seed uint64, queries int) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 99))
		for i := range queries {
			switch i % 5 {
			case 0:
				db.lookup(topicName(rng.IntN(nTopics)))
			case 1:
				for _, nd := range db.nodes() {
					if len(nd.Topics) != len(nd.Tombstones) {
						t.Errorf("node %s: %d topics, %d tombstones", nd.RemoteAddress, len(nd.Topics), len(nd.Tombstones))
						return
					}
				}
			case 2:
				db.debug()
			case 3:
				db.topics()
			case 4:
				db.channelsOf(topicName(rng.IntN(nTopics)))
			}
		}
	}
	// admin does what the HTTP write endpoints do
	admin := func(wg *sync.WaitGroup, calls int) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(7, 7))
		for i := range calls {
			topic := topicName(rng.IntN(nTopics))
			switch i % 5 {
			case 0:
				db.createTopic(topic)
			case 1:
				db.createChannel(topic, channelName(rng.IntN(4)))
			case 2:
				db.deleteChannel(topic, channelName(rng.IntN(4)))
			case 3:
				db.tombstone(topic, fmt.Sprintf("b-127.0.0.1:%d:%d", 10000+rng.IntN(workers), 20000+rng.IntN(workers)))
			case 4:
				if rng.IntN(10) == 0 {
					db.deleteTopic(topic)
				}
			}
		}
	}

	// phase 1: random REGISTER/UNREGISTER against queries and admin calls
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Add(1)
		go reader(&wg, uint64(r), ops)
	}
	wg.Add(1)
	go admin(&wg, ops)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			p := peers[w]
			for range ops {
				topic := topicName(rng.IntN(nTopics))
				channel := ""
				if rng.IntN(2) == 0 {
					channel = channelName(rng.IntN(4))
				}
				if rng.IntN(3) == 0 {
					db.unregister(p.id, topic, channel)
				} else {
					db.register(p, topic, channel)
				}
			}
		}()
	}
	wg.Wait()
	if err := db.checkInvariants(); err != nil {
		t.Fatal(err)
	}

	// phase 2, concurrently with queries: worker w withdraws everything,
	// then produces topic i iff (w+i) is even, with channel w<w>
	for r := range 2 {
		wg.Add(1)
		go reader(&wg, uint64(10+r), ops/4)
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := peers[w]
			for i := range nTopics {
				db.unregister(p.id, topicName(i), "")
			}
			for i := range nTopics {
				if (w+i)%2 == 0 {
					db.register(p, topicName(i), fmt.Sprintf("w%d", w))
				}
			}
		}()
	}
	wg.Wait()

	if err := db.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	for i := range nTopics {
		var want []string
		for w := range workers {
			if (w+i)%2 == 0 {
				want = append(want, peers[w].id)
			}
		}
		expectEq(t, "producers of "+topicName(i), lookupIDs(t, db, topicName(i)), strings.Join(want, ","))
		dbg := db.debug()
		for w := range workers {
			entries := dbg[channelRegistration(topicName(i), fmt.Sprintf("w%d", w)).String()]
			if registered := (w+i)%2 == 0; registered != (len(entries) == 1) {
				t.Errorf("channel w%d of %s: entries %+v", w, topicName(i), entries)
			}
		}
	}
	for _, nd := range db.nodes() {
		var w int
		fmt.Sscanf(nd.RemoteAddress, "127.0.0.1:%d", &w)
		w -= 10000
		var want []string
		for i := range nTopics {
			if (w+i)%2 == 0 {
				want = append(want, topicName(i))
			}
		}
		slices.Sort(want)
		expectEq(t, "topics of worker "+fmt.Sprint(w), strings.Join(nd.Topics, ","), strings.Join(want, ","))
		expectEq(t, "tombstones of worker "+fmt.Sprint(w), fmt.Sprint(nd.Tombstones), fmt.Sprint(make([]bool, len(want))))
	}

	// disconnect the odd workers concurrently with readers
	for w := 1; w < workers; w += 2 {
		wg.Add(2)
		go func() { defer wg.Done(); db.removePeer(peers[w].id) }()
		go func() { defer wg.Done(); db.nodes(); db.lookup(topicName(w % nTopics)) }()
	}
	wg.Wait()
	if err := db.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if got := len(db.nodes()); got != workers/2 {
		t.Fatalf("%d nodes after disconnects, want %d", got, workers/2)
	}
	for i := range nTopics {
		var want []string
		for w := 0; w < workers; w += 2 {
			if (w+i)%2 == 0 {
				want = append(want, peers[w].id)
			}
		}
		expectEq(t, "producers after disconnects of "+topicName(i), lookupIDs(t, db, topicName(i)), strings.Join(want, ","))
	}
}
