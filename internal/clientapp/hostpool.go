package clientapp

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// The dead-host retry schedule of the hostpool modes: a failed address is
// left alone for 30 s, then given one try; each failed try doubles the
// wait, up to 15 minutes.
const (
	initialRetryDelay = 30 * time.Second
	maxRetryDelay     = 900 * time.Second
)

// The epsilon-greedy exploration rate: it starts at 30 % of picks and is
// multiplied by epsilonDecay every epsilonDecayEvery picks, down to
// epsilonFloor, so that a long-running process settles on the fastest
// address while still sampling the others now and then.
const (
	epsilonStart      = 0.3
	epsilonDecay      = 0.9
	epsilonDecayEvery = 100
	epsilonFloor      = 0.02
	// ewmaWeight is the weight of the newest sample in an address's
	// average response time.
	ewmaWeight = 0.2
)

// RoundRobin cycles through n addresses. Like NSQ's apps it increments
// its counter before using it, so the first pick is index 1 (the second
// address). Safe for concurrent use.
type RoundRobin struct {
	counter atomic.Uint64
}

// Next returns the index of the next of n addresses.
func (r *RoundRobin) Next(n int) int {
	return int(r.counter.Add(1) % uint64(n))
}

// hostState is what a HostPool knows about one address.
type hostState struct {
	dead       bool
	retryAt    time.Time     // when a dead host gets its next try
	retryDelay time.Duration // wait before the try after retryAt
	avg        time.Duration // recent response time (epsilon-greedy)
	samples    int
}

// HostPool picks among a fixed list of addresses, avoiding those that
// recently failed. In the plain mode it cycles through live addresses; in
// the epsilon-greedy mode it mostly picks the live address with the best
// recent response time. A failed address is dead for 30 s, then retried
// once per period, the period doubling up to 900 s; when every address is
// dead, all are revived. Safe for concurrent use.
type HostPool struct {
	mu      sync.Mutex // guards everything below
	hosts   []hostState
	next    int // where the rotation continues
	greedy  bool
	epsilon float64
	picks   int
	now     func() time.Time
	rng     *rand.Rand
}

// NewHostPool returns a pool over n addresses (indexes 0..n-1); greedy
// selects the epsilon-greedy mode.
func NewHostPool(n int, greedy bool) *HostPool {
	return &HostPool{
		hosts:   make([]hostState, n),
		greedy:  greedy,
		epsilon: epsilonStart,
		now:     time.Now,
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
}

// Get returns the index of the address to use next.
func (p *HostPool) Get() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.greedy {
		p.picks++
		if p.picks%epsilonDecayEvery == 0 && p.epsilon > epsilonFloor {
			p.epsilon = max(p.epsilon*epsilonDecay, epsilonFloor)
		}
		if p.rng.Float64() >= p.epsilon {
			if i, ok := p.fastestLocked(); ok {
				return i
			}
		}
	}
	return p.rotateLocked()
}

// fastestLocked returns the live address with the lowest average response
// time; an address never measured counts as fastest so that it gets
// measured.
func (p *HostPool) fastestLocked() (int, bool) {
	best, found := 0, false
	for i, h := range p.hosts {
		if h.dead {
			continue
		}
		if h.samples == 0 {
			return i, true
		}
		if !found || h.avg < p.hosts[best].avg {
			best, found = i, true
		}
	}
	return best, found
}

// rotateLocked cycles through live addresses, giving a dead one its retry
// when due, and revives all when all are dead.
func (p *HostPool) rotateLocked() int {
	now := p.now()
	n := len(p.hosts)
	for pass := 0; pass < 2; pass++ {
		for k := 0; k < n; k++ {
			i := (p.next + k) % n
			h := &p.hosts[i]
			if h.dead {
				if now.Before(h.retryAt) {
					continue
				}
				h.retryAt = now.Add(h.retryDelay)
				h.retryDelay = min(2*h.retryDelay, maxRetryDelay)
			}
			p.next = i + 1
			return i
		}
		for i := range p.hosts {
			p.hosts[i].dead = false
		}
	}
	return 0 // unreachable: the second pass finds a live host
}

// Mark records the outcome of a request to address i: err == nil marks it
// alive and (epsilon-greedy) adds took to its response time, an error
// marks it dead.
func (p *HostPool) Mark(i int, err error, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := &p.hosts[i]
	if err != nil {
		if !h.dead {
			h.dead = true
			h.retryAt = p.now().Add(initialRetryDelay)
			h.retryDelay = 2 * initialRetryDelay
		}
		return
	}
	h.dead = false
	h.retryDelay = 0
	if h.samples == 0 {
		h.avg = took
	} else {
		h.avg = time.Duration(ewmaWeight*float64(took) + (1-ewmaWeight)*float64(h.avg))
	}
	h.samples++
}
