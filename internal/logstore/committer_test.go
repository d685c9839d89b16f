package logstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/vfs"
)

// applied collects what the committer applies.
type applied struct {
	mu   sync.Mutex
	ents []Entry
}

func (a *applied) apply(ents []Entry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range ents {
		if n := len(a.ents); n > 0 && a.ents[n-1].Index+1 != e.Index {
			panic(fmt.Sprintf("applied %d after %d", e.Index, a.ents[n-1].Index))
		}
		a.ents = append(a.ents, Entry{Index: e.Index, Term: e.Term, Kind: e.Kind, Data: append([]byte(nil), e.Data...)})
	}
}

func startTestCommitter(t testing.TB, fsys vfs.FS, o CommitterOptions) (*Committer, *Log, *applied) {
	t.Helper()
	l := openTestLog(t, fsys, 4096)
	a := &applied{}
	o.Log = l
	o.Apply = a.apply
	c, err := StartCommitter(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); l.Close() })
	return c, l, a
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCommitterManyProposers(t *testing.T) {
	c, _, a := startTestCommitter(t, vfs.NewMemFS(), CommitterOptions{})
	const workers, each = 8, 200
	var wg sync.WaitGroup
	seen := make(chan uint64, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := c.Propose(1, []byte(fmt.Sprintf("w%d-%d", w, i)))
				if err := p.Wait(); err != nil {
					t.Error(err)
					return
				}
				first, last := p.Indexes()
				if first != last {
					t.Errorf("one record got %d..%d", first, last)
				}
				seen <- first
			}
		}()
	}
	wg.Wait()
	close(seen)
	idx := map[uint64]bool{}
	for i := range seen {
		if idx[i] {
			t.Fatalf("index %d given twice", i)
		}
		idx[i] = true
	}
	if err := c.WaitApplied(context.Background(), workers*each); err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	if st.Applied != workers*each || st.Committed != st.Applied || st.Err != nil {
		t.Fatalf("status %+v", st)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ents) != workers*each {
		t.Fatalf("applied %d entries", len(a.ents))
	}
}

// gateFS blocks every file Sync until the test lets it through.
type gateFS struct {
	vfs.FS
	entered chan struct{}
	release chan struct{}
}

type gateFile struct {
	vfs.File
	g *gateFS
}

func (g *gateFS) Create(name string) (vfs.File, error) {
	f, err := g.FS.Create(name)
	return &gateFile{f, g}, err
}

func (g *gateFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := g.FS.OpenReadWrite(name)
	return &gateFile{f, g}, err
}

func (f *gateFile) Sync() error {
	f.g.entered <- struct{}{}
	<-f.g.release
	return f.File.Sync()
}

func TestCommitterBatchFormsDuringSync(t *testing.T) {
	ff := vfs.NewFaultFS(vfs.NewMemFS())
	g := &gateFS{FS: ff, entered: make(chan struct{}), release: make(chan struct{})}
	go func() { <-g.entered; g.release <- struct{}{} }() // Open's own sync of the first segment
	l, err := Open(Options{FS: g, Dir: "/log"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := StartCommitter(CommitterOptions{Log: l})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer c.Close()
	writes0, _ := ff.Counts()
	first := c.Propose(1, []byte("first"))
	<-g.entered // round 1 is syncing
	var rest []*Proposal
	for i := 0; i < 50; i++ {
		rest = append(rest, c.Propose(1, []byte("later")))
	}
	g.release <- struct{}{}
	if err := first.Wait(); err != nil {
		t.Fatal(err)
	}
	<-g.entered // round 2
	g.release <- struct{}{}
	for _, p := range rest {
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	writes, _ := ff.Counts()
	if writes-writes0 != 2 {
		t.Fatalf("51 proposals took %d writes, want 2 (one per round)", writes-writes0)
	}
	if _, last := rest[49].Indexes(); last != 51 {
		t.Fatalf("last index %d", last)
	}
}

func TestCommitterSyncFailureSeals(t *testing.T) {
	mem := vfs.NewMemFS()
	ff := vfs.NewFaultFS(mem)
	var health []error
	var hmu sync.Mutex
	c, _, _ := startTestCommitter(t, ff, CommitterOptions{OnHealth: func(err error) {
		hmu.Lock()
		health = append(health, err)
		hmu.Unlock()
	}})
	for i := 0; i < 10; i++ {
		if err := c.Propose(1, []byte(fmt.Sprintf("entry-%d", i+1))).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	ff.FailSync(1)
	if err := c.Propose(1, []byte("doomed")).Wait(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("proposal in the failed round: %v", err)
	}
	if err := c.Propose(1, []byte("after")).Wait(); !errors.Is(err, ErrSealed) {
		t.Fatalf("proposal after a failed sync: %v", err)
	}
	st := c.Status()
	if !st.Sealed || st.Committed != 10 {
		t.Fatalf("status %+v", st)
	}
	hmu.Lock()
	reported := append([]error(nil), health...)
	hmu.Unlock()
	if len(reported) != 1 || reported[0] == nil {
		t.Fatalf("health reports %v", reported)
	}
	mem.Crash()
	l := openTestLog(t, mem, 4096)
	defer l.Close()
	if l.LastIndex() != 10 {
		t.Fatalf("after crash: last %d", l.LastIndex())
	}
	checkEntries(t, l, 1, 11)
}

func TestCommitterWriteFailureAndFullDiskResume(t *testing.T) {
	ff := vfs.NewFaultFS(vfs.NewMemFS())
	var hmu sync.Mutex
	var health []error
	c, l, _ := startTestCommitter(t, ff, CommitterOptions{OnHealth: func(err error) {
		hmu.Lock()
		health = append(health, err)
		hmu.Unlock()
	}})
	if err := c.Propose(1, []byte("entry-1")).Wait(); err != nil {
		t.Fatal(err)
	}
	ff.FailWrite(1)
	if err := c.Propose(1, []byte("x")).Wait(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("failed write: %v", err)
	}
	if err := c.Propose(1, []byte("entry-2")).Wait(); err != nil {
		t.Fatalf("after a failed write: %v", err)
	}
	ff.LimitSpace(10)
	for i := 0; i < 3; i++ {
		if err := c.Propose(1, []byte("does not fit")).Wait(); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("full disk: %v", err)
		}
	}
	if st := c.Status(); st.Err == nil || st.Sealed {
		t.Fatalf("status on a full disk: %+v", st)
	}
	ff.LimitSpace(-1)
	if err := c.Propose(1, []byte("entry-3")).Wait(); err != nil {
		t.Fatalf("after space returned: %v", err)
	}
	if st := c.Status(); st.Err != nil || st.Committed != 3 {
		t.Fatalf("status after recovery: %+v", st)
	}
	checkEntries(t, l, 1, 4)
	hmu.Lock()
	defer hmu.Unlock()
	if len(health) < 2 || health[len(health)-1] != nil {
		t.Fatalf("health should go bad then good: %v", health)
	}
}

func TestCommitterRefusesOversizedRecordAlone(t *testing.T) {
	c, _, _ := startTestCommitter(t, vfs.NewMemFS(), CommitterOptions{})
	big := c.Propose(1, make([]byte, MaxEntryBytes+1))
	small := c.Propose(1, []byte("fine"))
	if err := big.Wait(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized record: %v", err)
	}
	if err := small.Wait(); err != nil {
		t.Fatalf("record proposed beside an oversized one: %v", err)
	}
}

func TestCommitterReplayAndGather(t *testing.T) {
	mem := vfs.NewMemFS()
	var gathered int
	c, l, _ := startTestCommitter(t, mem, CommitterOptions{Gather: func() []Record {
		gathered++
		return []Record{{Kind: 9, Data: []byte("state")}}
	}})
	p := c.ProposeBatch([]Record{{1, []byte("a")}, {1, []byte("b")}})
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if f, last := p.Indexes(); f != 1 || last != 2 {
		t.Fatalf("batch indexes %d..%d", f, last)
	}
	c.WaitApplied(context.Background(), 3)
	c.Close()
	l.Close()
	l2 := openTestLog(t, mem, 4096)
	defer l2.Close()
	a := &applied{}
	c2, err := StartCommitter(CommitterOptions{Log: l2, Apply: a.apply, Applied: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if len(a.ents) != 2 || a.ents[0].Index != 2 || a.ents[1].Kind != 9 {
		t.Fatalf("replay after index 1: %+v", a.ents)
	}
	if st := c2.Status(); st.Applied != 3 || st.Committed != 3 {
		t.Fatalf("status after replay %+v", st)
	}
}

// TestCommitterPowerCut: proposers run while the test cuts power at random
// moments (torn or clean); after each cut, every acknowledged record is in
// the recovered log at its index, and nothing else is corrupt.
func TestCommitterPowerCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	mem := vfs.NewMemFS()
	acked := map[uint64]string{}
	for cycle := 0; cycle < 30; cycle++ {
		l := openTestLog(t, mem, 2048)
		for i, want := range acked {
			ents, err := l.Entries(i, i+1, 0)
			if err != nil || string(ents[0].Data) != want {
				t.Fatalf("cycle %d: acked entry %d lost or changed: %v", cycle, i, err)
			}
		}
		c, err := StartCommitter(CommitterOptions{Log: l})
		if err != nil {
			t.Fatal(err)
		}
		// crashed is set, under mu, at the cut: an ack read after it may be
		// for a round the committer wrote to the lost file system after the
		// cut, so only acks recorded before it count.
		var mu sync.Mutex
		crashed := false
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					data := fmt.Sprintf("c%d-w%d-%d", cycle, w, i)
					p := c.Propose(1, []byte(data))
					if p.Wait() != nil {
						return
					}
					first, _ := p.Indexes()
					mu.Lock()
					if !crashed {
						acked[first] = data
					}
					mu.Unlock()
				}
			}()
		}
		target := c.Status().Committed + 1 + uint64(rng.IntN(40))
		waitFor(t, "some commits", func() bool { return c.Status().Committed >= target })
		mu.Lock()
		switch rng.IntN(3) {
		case 0:
			mem.CrashTorn(rng)
		case 1:
			mem.CrashGarbled(rng)
		default:
			mem.Crash()
		}
		crashed = true
		mu.Unlock()
		close(stop)
		wg.Wait()
		c.Close()
		l.Close()
	}
	if len(acked) < 100 {
		t.Fatalf("only %d acks over all cycles", len(acked))
	}
}
