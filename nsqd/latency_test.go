package nsqd

import (
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	for _, ns := range []int64{0, 1, 3, 4, 5, 7, 8, 9, 1000, 1023, 1024, 123456789, int64(time.Hour), 1<<62 + 12345} {
		i := bucketOf(ns)
		if ns > bucketUpper(i) {
			t.Errorf("%d: bucket %d upper %d below the value", ns, i, bucketUpper(i))
		}
		if i > 0 && ns <= bucketUpper(i-1) {
			t.Errorf("%d: bucket %d but fits bucket %d (upper %d)", ns, i, i-1, bucketUpper(i-1))
		}
		if ns >= 4 && float64(bucketUpper(i)) > 1.25*float64(ns) {
			t.Errorf("%d: upper bound %d more than 25%% above", ns, bucketUpper(i))
		}
	}
}

func TestLatencyHistogramQuantiles(t *testing.T) {
	var h latencyHistogram
	if r := h.result([]float64{0.5}); r.Count != 0 || r.Percentiles != nil {
		t.Fatalf("empty: %+v", r)
	}
	for i := 1; i <= 100; i++ {
		h.observe(time.Duration(i) * time.Millisecond)
	}
	r := h.result([]float64{0.5, 0.99, 1})
	if r.Count != 100 || len(r.Percentiles) != 3 {
		t.Fatalf("got %+v", r)
	}
	for i, want := range []time.Duration{50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond} {
		got := time.Duration(r.Percentiles[i].Value)
		if got < want || float64(got) > 1.25*float64(want) {
			t.Errorf("q%v = %s, want about %s", r.Percentiles[i].Quantile, got, want)
		}
	}
}

func BenchmarkLatencyObserve(b *testing.B) {
	var h latencyHistogram
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.observe(time.Duration(i))
	}
}
