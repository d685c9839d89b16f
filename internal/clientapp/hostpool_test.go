package clientapp

import (
	"errors"
	"testing"
	"time"
)

func TestRoundRobinStartsAtSecond(t *testing.T) {
	var rr RoundRobin
	var got []int
	for i := 0; i < 5; i++ {
		got = append(got, rr.Next(3))
	}
	want := []int{1, 2, 0, 1, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("picks = %v, want %v", got, want)
		}
	}
}

// fakeClock is a settable clock for HostPool tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestPool(tb testing.TB, n int, greedy bool) (*HostPool, *fakeClock) {
	tb.Helper()
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := NewHostPool(n, greedy)
	p.now = clk.now
	return p, clk
}

func picks(p *HostPool, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = p.Get()
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHostPoolDeadHostSchedule(t *testing.T) {
	p, clk := newTestPool(t, 3, false)
	if got := picks(p, 3); !equalInts(got, []int{0, 1, 2}) {
		t.Fatalf("initial rotation %v", got)
	}
	fail := errors.New("down")
	p.Mark(1, fail, 0)
	if got := picks(p, 4); !equalInts(got, []int{0, 2, 0, 2}) {
		t.Fatalf("with 1 dead: %v", got)
	}
	// After 30 s the dead host gets one try.
	clk.advance(30 * time.Second)
	got := picks(p, 3)
	if !equalInts(got, []int{0, 1, 2}) {
		t.Fatalf("after 30s: %v", got)
	}
	p.Mark(1, fail, 0) // the retry failed: next try 60 s later
	clk.advance(59 * time.Second)
	if got := picks(p, 4); equalInts(got, []int{0, 1, 2, 0}) || contains(got, 1) {
		t.Fatalf("retried before 60s: %v", got)
	}
	clk.advance(time.Second)
	if got := picks(p, 3); !contains(got, 1) {
		t.Fatalf("no retry after 60s: %v", got)
	}
	// A success revives it for good.
	p.Mark(1, nil, time.Millisecond)
	if got := picks(p, 3); !contains(got, 1) {
		t.Fatalf("revived host not used: %v", got)
	}
}

func TestHostPoolRetryDelayCapped(t *testing.T) {
	p, clk := newTestPool(t, 2, false)
	fail := errors.New("down")
	p.Mark(0, fail, 0)
	p.Mark(1, nil, 0)
	delay := 30 * time.Second
	for i := 0; i < 10; i++ {
		clk.advance(delay)
		if got := picks(p, 2); !contains(got, 0) {
			t.Fatalf("round %d: no retry after %s: %v", i, delay, got)
		}
		delay = min(2*delay, 900*time.Second)
		clk.advance(delay - time.Second)
		if got := picks(p, 2); contains(got, 0) {
			t.Fatalf("round %d: retried before %s", i, delay)
		}
		clk.advance(-(delay - time.Second))
	}
}

func TestHostPoolAllDeadRevives(t *testing.T) {
	p, _ := newTestPool(t, 2, false)
	fail := errors.New("down")
	p.Mark(0, fail, 0)
	p.Mark(1, fail, 0)
	if got := picks(p, 4); !contains(got, 0) || !contains(got, 1) {
		t.Fatalf("all dead should revive all: %v", got)
	}
}

func TestHostPoolEpsilonGreedyPrefersFastest(t *testing.T) {
	p, _ := newTestPool(t, 3, true)
	// Unmeasured hosts count as fastest, so all get measured early
	// (each greedy pick, 70 % of picks, goes to one of them).
	seen := map[int]bool{}
	for i := 0; i < 30; i++ {
		h := p.Get()
		seen[h] = true
		p.Mark(h, nil, time.Duration(10*(h+1))*time.Millisecond)
	}
	if len(seen) != 3 {
		t.Fatalf("greedy pool did not measure every host first: %v", seen)
	}
	counts := make([]int, 3)
	for i := 0; i < 2000; i++ {
		h := p.Get()
		counts[h]++
		p.Mark(h, nil, time.Duration(10*(h+1))*time.Millisecond)
	}
	if counts[0] <= counts[1] || counts[0] <= counts[2] {
		t.Fatalf("fastest host not preferred: %v", counts)
	}
	if counts[1]+counts[2] == 0 {
		t.Fatalf("greedy pool never explored: %v", counts)
	}
	// A failing fastest host is avoided.
	p.Mark(0, errors.New("down"), 0)
	for i := 0; i < 50; i++ {
		if h := p.Get(); h == 0 {
			t.Fatalf("dead host picked on pick %d", i)
		}
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
