package gcpace

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Config is the pacer's policy. The zero value is not useful; start from
// Default.
type Config struct {
	// Low is the GC percent while the allocation rate is low: with Go's
	// 4 MB heap floor scaled by it, 50 gives a light daemon a 2 MB floor.
	Low int
	// High is the GC percent under load (Go's default, 100).
	High int
	// Up: at Low, an allocation rate above this many bytes a second over
	// a window switches to High.
	Up float64
	// Down: at High, an allocation rate below this many bytes a second
	// over a window switches back to Low.
	Down float64
	// Window is the least wall time a decision looks at.
	Window time.Duration
}

// Default collects at GOGC=50 while the heap grows by less than 16 MB/s
// and at GOGC=100 (Go's default) above it, back at 50 under 6 MB/s.
// Above the floor, GC CPU is proportional to the allocation rate and
// about twice as much at 50 as at 100, so the rate is what decides; an
// nsqd moving 20,000 200-byte messages a second allocates about 8 MB/s,
// one publishing flat out 150-250 MB/s. GC CPU time itself would be the
// wrong signal: on an overloaded machine a stop-the-world phase stretches
// in wall time and counts as GC CPU on every P.
var Default = Config{Low: 50, High: 100, Up: 16 << 20, Down: 6 << 20, Window: 250 * time.Millisecond}

// OperatorSet reports whether the environment sets GOGC or GOMEMLIMIT, in
// which case the operator's setting is left alone.
func OperatorSet(lookup func(string) (string, bool)) bool {
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, ok := lookup(k); ok && v != "" {
			return true
		}
	}
	return false
}

// Pacer switches the GC percent between Config.Low and Config.High. It is
// safe for concurrent use.
type Pacer struct {
	cfg        Config
	setPercent func(int) int

	mu         sync.Mutex // guards the fields below
	percent    int        // current setting
	start      time.Time  // start of the window being measured
	allocStart uint64     // bytes allocated so far at start
	stopped    bool
	cycles     int // GC cycles observed
}

// New returns a pacer that applies its setting through setPercent
// (debug.SetGCPercent for the process; a recorder in tests). It starts at
// Low: a daemon starts with a small heap.
func New(cfg Config, setPercent func(int) int) *Pacer {
	p := &Pacer{cfg: cfg, setPercent: setPercent, percent: cfg.Low}
	setPercent(cfg.Low)
	return p
}

// Observe takes the bytes allocated so far (runtime/metrics'
// /gc/heap/allocs:bytes) at time now, once per GC cycle, and switches the
// setting when a window of at least Config.Window shows an allocation
// rate past the threshold of the current setting. It returns the setting.
func (p *Pacer) Observe(now time.Time, allocated uint64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cycles++
	if p.stopped {
		return p.percent
	}
	if p.start.IsZero() {
		p.start, p.allocStart = now, allocated
		return p.percent
	}
	wall := now.Sub(p.start)
	if wall < p.cfg.Window {
		return p.percent
	}
	rate := float64(allocated-p.allocStart) / wall.Seconds()
	p.start, p.allocStart = now, allocated
	next := p.percent
	switch {
	case p.percent == p.cfg.Low && rate > p.cfg.Up:
		next = p.cfg.High
	case p.percent == p.cfg.High && rate < p.cfg.Down:
		next = p.cfg.Low
	}
	if next != p.percent {
		p.percent = next
		p.setPercent(next)
	}
	return p.percent
}

// Percent returns the current setting.
func (p *Pacer) Percent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.percent
}

// Cycles returns how many GC cycles the pacer has observed.
func (p *Pacer) Cycles() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cycles
}

// Stop ends pacing and restores High. Later cycles are counted but change
// nothing.
func (p *Pacer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		p.percent = p.cfg.High
		p.setPercent(p.cfg.High)
	}
}

// Start paces the process's garbage collector with cfg, unless the
// environment sets GOGC or GOMEMLIMIT (then it returns nil and changes
// nothing). It is notified of each GC cycle by a cleanup on an unreachable
// sentinel, so an idle process does no work for it.
func Start(cfg Config) *Pacer {
	if OperatorSet(os.LookupEnv) {
		return nil
	}
	p := New(cfg, debug.SetGCPercent)
	p.arm()
	return p
}

// sentinel holds a pointer so it is never tiny-allocated beside other
// objects (a tiny object's cleanup may never run).
type sentinel struct {
	_ *sentinel
	_ [8]byte
}

// arm registers a cleanup that runs after the next GC cycle, observes it
// and re-arms, until Stop.
func (p *Pacer) arm() {
	runtime.AddCleanup(new(sentinel), func(p *Pacer) {
		p.Observe(time.Now(), allocatedBytes())
		p.mu.Lock()
		stopped := p.stopped
		p.mu.Unlock()
		if !stopped {
			p.arm()
		}
	}, p)
}

// allocatedBytes is the bytes the heap has allocated so far.
func allocatedBytes() uint64 {
	s := [1]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s[:])
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
