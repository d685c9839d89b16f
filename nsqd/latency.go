package nsqd

import (
	"math/bits"
	"sync/atomic"
	"time"

	quant "github.com/dropin/nsq/internal/quantile"
)

// latencyBuckets is the number of buckets of a latencyHistogram: four per
// power of two of nanoseconds, which covers every int64 duration.
const latencyBuckets = 64 * 4

// latencyHistogram counts durations in log-spaced buckets (four per
// doubling, so an estimate is within 19% of the true value). Recording is
// one atomic add and takes no lock, so FIN can record every message; the
// counts cover the channel's whole life. Safe for concurrent use.
type latencyHistogram struct {
	buckets [latencyBuckets]atomic.Uint64
}

// bucketOf maps a duration in ns to its bucket: below 4ns the value
// itself, else the octave and the two bits after the leading one.
func bucketOf(ns int64) int {
	if ns < 4 {
		if ns < 0 {
			return 0
		}
		return int(ns)
	}
	oct := bits.Len64(uint64(ns)) - 1 // >= 2
	sub := int(uint64(ns)>>(oct-2)) & 3
	return (oct-1)*4 + sub
}

// bucketUpper is the largest duration that falls into bucket i.
func bucketUpper(i int) int64 {
	if i < 4 {
		return int64(i)
	}
	oct, sub := i/4+1, i%4
	hi := (uint64(4+sub+1) << (oct - 2)) - 1
	if hi > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(hi)
}

// observe records one duration.
func (h *latencyHistogram) observe(d time.Duration) {
	h.buckets[bucketOf(int64(d))].Add(1)
}

// snapshot copies the counts and returns their total.
func (h *latencyHistogram) snapshot(out *[latencyBuckets]uint64) uint64 {
	var total uint64
	for i := range h.buckets {
		out[i] = h.buckets[i].Load()
		total += out[i]
	}
	return total
}

// result estimates the quantiles (each 0 < q <= 1) as the upper bound of
// the bucket holding the q-th recorded value, in ns, in the shape of
// e2e_processing_latency. Without values, Percentiles is nil.
func (h *latencyHistogram) result(quantiles []float64) quant.Result {
	var counts [latencyBuckets]uint64
	total := h.snapshot(&counts)
	r := quant.Result{Count: int(total)}
	if total == 0 {
		return r
	}
	r.Percentiles = make([]quant.Percentile, 0, len(quantiles))
	for _, q := range quantiles {
		rank := uint64(q*float64(total) + 0.5)
		if rank < 1 {
			rank = 1
		}
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				r.Percentiles = append(r.Percentiles, quant.Percentile{Quantile: q, Value: float64(bucketUpper(i))})
				break
			}
		}
	}
	return r
}
