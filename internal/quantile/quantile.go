package quantile

import (
	"sort"
	"sync"
	"time"

	"github.com/beorn7/perks/quantile"
)

// Percentile is one entry of the stats JSON.
type Percentile struct {
	Quantile float64 `json:"quantile"`
	Value    float64 `json:"value"`
}

// Result is the e2e_processing_latency object of /stats.
type Result struct {
	Count       int          `json:"count"`
	Percentiles []Percentile `json:"percentiles"`
}

// Window estimates quantiles of the values inserted during roughly the
// last window. It keeps two streams, each covering half the window, and
// answers from both. Safe for concurrent use.
type Window struct {
	mu        sync.Mutex // guards streams, current, rotatedAt
	streams   [2]*quantile.Stream
	current   int
	rotatedAt time.Time
	half      time.Duration
	quantiles []float64 // descending
}

// New returns a Window over window for the given quantiles (0 < q <= 1).
func New(window time.Duration, quantiles []float64) *Window {
	qs := append([]float64(nil), quantiles...)
	sort.Sort(sort.Reverse(sort.Float64Slice(qs)))
	w := &Window{half: window / 2, quantiles: qs, rotatedAt: time.Now()}
	if w.half <= 0 {
		w.half = time.Second
	}
	w.streams[0] = w.newStream()
	w.streams[1] = w.newStream()
	return w
}

func (w *Window) newStream() *quantile.Stream {
	targets := make(map[float64]float64, len(w.quantiles))
	for _, q := range w.quantiles {
		targets[q] = 0.001
	}
	return quantile.NewTargeted(targets)
}

// Quantiles returns the tracked quantiles, descending.
func (w *Window) Quantiles() []float64 { return w.quantiles }

func (w *Window) rotateLocked(now time.Time) {
	for now.Sub(w.rotatedAt) >= w.half {
		w.current ^= 1
		w.streams[w.current].Reset()
		w.rotatedAt = w.rotatedAt.Add(w.half)
		if now.Sub(w.rotatedAt) >= 2*w.half {
			w.streams[0].Reset()
			w.streams[1].Reset()
			w.rotatedAt = now
		}
	}
}

// Insert adds one observation.
func (w *Window) Insert(v float64) {
	w.mu.Lock()
	w.rotateLocked(time.Now())
	w.streams[w.current].Insert(v)
	w.mu.Unlock()
}

// Samples returns the window's samples, for merging several windows.
func (w *Window) Samples() quantile.Samples {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rotateLocked(time.Now())
	s := append(quantile.Samples(nil), w.streams[0].Samples()...)
	return append(s, w.streams[1].Samples()...)
}

// Result answers the tracked quantiles over the window.
func (w *Window) Result() Result {
	return Merge(w.quantiles, w.Samples())
}

// Merge answers quantiles over the union of samples (e.g. every channel of
// a topic). With no quantiles it returns NSQ's empty result.
func Merge(quantiles []float64, samples quantile.Samples) Result {
	if len(quantiles) == 0 {
		return Result{}
	}
	targets := make(map[float64]float64, len(quantiles))
	for _, q := range quantiles {
		targets[q] = 0.001
	}
	s := quantile.NewTargeted(targets)
	s.Merge(samples)
	r := Result{Count: s.Count(), Percentiles: make([]Percentile, 0, len(quantiles))}
	for _, q := range quantiles {
		v := 0.0
		if r.Count > 0 {
			v = s.Query(q)
		}
		r.Percentiles = append(r.Percentiles, Percentile{Quantile: q, Value: v})
	}
	return r
}
