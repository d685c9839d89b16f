package brokerlog

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/vfs"
)

// cutFS cuts the power inside a file Sync, before it happens, once its
// countdown runs out: the "written but not yet synced" moment.
type cutFS struct {
	vfs.FS
	mem       *vfs.MemFS
	rng       *rand.Rand // used only under mu
	mu        sync.Mutex
	countdown int // syncs until the cut; <0: never
	cut       atomic.Bool
}

func (c *cutFS) Create(name string) (vfs.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &cutFile{f, c}, nil
}

func (c *cutFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := c.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &cutFile{f, c}, nil
}

// crash cuts the power now (torn, garbled or clean, at random).
func (c *cutFS) crash() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.crashLocked()
}

func (c *cutFS) crashLocked() {
	if c.cut.Load() {
		return
	}
	c.cut.Store(true)
	switch c.rng.IntN(3) {
	case 0:
		c.mem.CrashTorn(c.rng)
	case 1:
		c.mem.CrashGarbled(c.rng)
	default:
		c.mem.Crash()
	}
}

type cutFile struct {
	vfs.File
	c *cutFS
}

func (f *cutFile) Sync() error {
	f.c.mu.Lock()
	if f.c.countdown >= 0 {
		f.c.countdown--
		if f.c.countdown < 0 {
			f.c.crashLocked()
		}
	}
	f.c.mu.Unlock()
	return f.File.Sync()
}

// model is what the test knows happened, to check the engine against.
type model struct {
	mu        sync.Mutex
	bodies    map[[16]byte]string // every message ever proposed
	acked     map[[16]byte]string // message → topic, for publishes acknowledged
	finSent   map[string]map[[16]byte]bool
	reqSent   map[string]map[uint64][]int64 // channel key → seq → dues sent
	nextID    uint64
	ackCount  int
	cutCycles int
}

var (
	fixedTopics   = []string{"t0", "t1", "t2"}
	fixedChannels = []string{"a", "b"}
)

func chanKeyStr(t, c string) string { return t + "/" + c }

// TestPowerCutProperty: random publishes from concurrent producers, FIN,
// REQ and in-flight deliveries, channel and topic churn, checkpoints and
// compaction, with power cuts at random moments (torn or clean, some inside
// a sync, some from outside). After every cut: every acknowledged message is
// in its topic's log and is delivered again unless its channel finished it
// (and only the test's own FINs finish it), no record is corrupt, and the
// engine keeps working on the recovered files.
func TestPowerCutProperty(t *testing.T) {
	seeds := 4
	cycles := 12
	if testing.Short() {
		seeds, cycles = 2, 6
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			runPowerCuts(t, uint64(seed), cycles)
		})
	}
}

func runPowerCuts(t *testing.T, seed uint64, cycles int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	mem := vfs.NewMemFS()
	m := &model{bodies: map[[16]byte]string{}, acked: map[[16]byte]string{},
		finSent: map[string]map[[16]byte]bool{}, reqSent: map[string]map[uint64][]int64{}}
	for _, tp := range fixedTopics {
		for _, c := range fixedChannels {
			m.finSent[chanKeyStr(tp, c)] = map[[16]byte]bool{}
			m.reqSent[chanKeyStr(tp, c)] = map[uint64][]int64{}
		}
	}
	first := true
	for cycle := 0; cycle < cycles; cycle++ {
		cfs := &cutFS{FS: mem, mem: mem, rng: rand.New(rand.NewPCG(seed, uint64(cycle))), countdown: -1}
		e, err := Open(Options{FS: cfs, Dir: "/data", SegmentBytes: 2048, markEvery: 3, StateFlushInterval: time.Millisecond})
		if err != nil {
			t.Fatalf("cycle %d: recovery failed: %v\n%s", cycle, err, mem)
		}
		verify(t, e, m, cycle)
		if first {
			for _, tp := range fixedTopics {
				for _, c := range fixedChannels {
					wait(t, e, e.CreateChannel(tp, c, Start{}))
				}
			}
			first = false
		}
		if rng.IntN(3) > 0 {
			cfs.mu.Lock()
			cfs.countdown = 5 + rng.IntN(60)
			cfs.mu.Unlock()
		}
		runCycle(t, e, cfs, m, rng)
		e.Close() // fails on the dead files; recovery must not care
	}
	if m.ackCount < 50 {
		t.Fatalf("only %d publishes acknowledged: the test did not exercise much", m.ackCount)
	}
	t.Logf("seed %d: %d messages acknowledged over %d cycles", seed, m.ackCount, cycles)
}

func runCycle(t *testing.T, e *Engine, cfs *cutFS, m *model, rng *rand.Rand) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 3; w++ {
		wg.Add(1)
		wrng := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				select {
				case <-stop:
					return
				default:
				}
				topic := fixedTopics[wrng.IntN(len(fixedTopics))]
				if wrng.IntN(10) == 0 {
					topic = "volatile"
				}
				batch := make([]Message, 1+wrng.IntN(4))
				m.mu.Lock()
				for k := range batch {
					m.nextID++
					var id [16]byte
					binary.BigEndian.PutUint64(id[8:], m.nextID)
					body := fmt.Sprintf("m%d-%x", m.nextID, wrng.Uint32())
					batch[k] = Message{ID: id, Timestamp: int64(m.nextID), Body: []byte(body)}
					if wrng.IntN(5) == 0 {
						batch[k].Deferral = int64(wrng.IntN(1000))
					}
					m.bodies[id] = body
				}
				m.mu.Unlock()
				if e.Publish(topic, batch).Wait() != nil {
					return
				}
				// Only an ack seen before the cut is a promise: after it the
				// engine still runs against the rebooted MemFS (a real cut
				// would have killed it), where a directory sync can succeed
				// for a segment the cut took away.
				cfs.mu.Lock()
				if !cfs.cut.Load() {
					m.mu.Lock()
					for _, msg := range batch {
						m.acked[msg.ID] = topic
						m.ackCount++
					}
					m.mu.Unlock()
				}
				cfs.mu.Unlock()
			}
		}()
	}

	readers := map[string]*Reader{}
	for _, tp := range fixedTopics {
		for _, c := range fixedChannels {
			r, err := e.NewReader(tp, c, ReaderOptions{WindowMessages: 8})
			if err != nil {
				t.Fatal(err)
			}
			readers[chanKeyStr(tp, c)] = r
		}
	}
	steps := 50 + rng.IntN(200)
	for step := 0; step < steps && !cfs.cut.Load(); step++ {
		switch k := rng.IntN(20); {
		case k < 14:
			tp, c := fixedTopics[rng.IntN(3)], fixedChannels[rng.IntN(2)]
			key := chanKeyStr(tp, c)
			ds, err := readers[key].Next(1 + rng.IntN(5))
			if err != nil {
				if cfs.cut.Load() {
					break // the power went while reading
				}
				t.Fatalf("reader %s: %v", key, err)
			}
			for _, d := range ds {
				m.mu.Lock()
				if want, ok := m.bodies[d.ID]; !ok || want != string(d.Body) {
					m.mu.Unlock()
					t.Fatalf("%s: served seq %d with body %q, want %q", key, d.Seq, d.Body, want)
				}
				switch r := rng.IntN(10); {
				case r < 7:
					m.finSent[key][d.ID] = true
					m.mu.Unlock()
					e.Finish(tp, c, d.Seq)
				case r < 9:
					due := int64(rng.IntN(1 << 30))
					m.reqSent[key][d.Seq] = append(m.reqSent[key][d.Seq], due)
					m.mu.Unlock()
					e.Requeue(tp, c, d.Seq, due, d.Attempts+1)
				default:
					m.mu.Unlock()
					e.Delivered(tp, c, d.Seq, d.Attempts+1)
				}
			}
		case k < 16:
			// churn that is only checked for consistency
			switch rng.IntN(4) {
			case 0:
				e.CreateChannel("volatile", "v", Start{Mode: StartMode(rng.IntN(2))})
			case 1:
				e.DeleteChannel("volatile", "v")
			case 2:
				e.EmptyTopic("volatile")
			case 3:
				e.DeleteTopic("volatile")
			}
		case k < 17:
			e.Compact(time.Unix(0, 0))
		case k < 18:
			e.Checkpoint()
		default:
			time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
		}
	}
	cfs.crash()
	close(stop)
	wg.Wait()
	m.cutCycles++
}

// verify checks the recovered engine against the model.
func verify(t *testing.T, e *Engine, m *model, cycle int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := e.State().Skipped(); n != 0 {
		t.Fatalf("cycle %d: %d entries did not decode", cycle, n)
	}
	for _, tp := range fixedTopics {
		ti, ok := e.State().Topic(tp)
		if !ok {
			if cycle == 0 {
				continue
			}
			t.Fatalf("cycle %d: topic %s lost", cycle, tp)
		}
		// Every message the log holds for the topic, by sequence number.
		idOf := map[uint64][16]byte{}
		seqOf := map[[16]byte]uint64{}
		e.state.mu.RLock()
		ts := e.state.topics[tp]
		var pos scanPos
		if len(ts.marks) > 0 {
			pos = scanPos{ts.marks[0].index, ts.marks[0].seq}
		}
		hi := e.state.applied + 1
		e.state.mu.RUnlock()
		if pos.at > 0 {
			if _, err := e.scanTopic(tp, pos, hi, nil, func(seq uint64, msg *Message) bool {
				if want, ok := m.bodies[msg.ID]; !ok || want != string(msg.Body) {
					t.Fatalf("cycle %d: %s seq %d holds an unknown or damaged message %q", cycle, tp, seq, msg.Body)
				}
				idOf[seq], seqOf[msg.ID] = msg.ID, seq
				return true
			}); err != nil {
				t.Fatalf("cycle %d: scan %s: %v", cycle, tp, err)
			}
		}
		for _, c := range fixedChannels {
			key := chanKeyStr(tp, c)
			ci, ok := e.State().Channel(tp, c)
			if !ok {
				t.Fatalf("cycle %d: channel %s lost", cycle, key)
			}
			delivered := map[uint64]bool{}
			for _, d := range drainW(t, e, tp, c, 4096) {
				delivered[d.Seq] = true
			}
			requeued := map[uint64]bool{}
			for _, r := range ci.Requeued {
				requeued[r.Seq] = true
				okDue := false
				for _, due := range m.reqSent[key][r.Seq] {
					okDue = okDue || due == r.Due
				}
				if !okDue {
					t.Fatalf("cycle %d: %s requeued seq %d with a due the test never sent", cycle, key, r.Seq)
				}
			}
			for id, topic := range m.acked {
				if topic != tp {
					continue
				}
				seq, ok := seqOf[id]
				if !ok {
					if ti.FirstSeq > 1 && m.finSent[key][id] {
						continue // finished everywhere and compacted away
					}
					t.Fatalf("cycle %d: acknowledged message %x of %s is not in the log", cycle, id[8:], tp)
				}
				switch {
				case delivered[seq], requeued[seq]:
				case m.finSent[key][id]:
				default:
					t.Fatalf("cycle %d: %s: acknowledged seq %d neither delivered, requeued nor FINed (floor %d)", cycle, key, seq, ci.Floor)
				}
			}
			// The state only finishes what the test finished.
			for seq := ti.FirstSeq; seq < ci.NextSeq; seq++ {
				unfinished := seq >= ci.Floor && !rangeSet(ci.Finished).contains(seq)
				if id, ok := idOf[seq]; ok && !unfinished && !m.finSent[key][id] {
					t.Fatalf("cycle %d: %s: seq %d finished but never FINed", cycle, key, seq)
				}
			}
		}
	}
}
