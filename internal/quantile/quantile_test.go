package quantile

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	w := New(time.Minute, []float64{0.5, 1.0, 0.99})
	for i := 1; i <= 1000; i++ {
		w.Insert(float64(i))
	}
	r := w.Result()
	if r.Count != 1000 || len(r.Percentiles) != 3 {
		t.Fatalf("result %+v", r)
	}
	if r.Percentiles[0].Quantile != 1.0 || r.Percentiles[2].Quantile != 0.5 {
		t.Fatalf("not descending: %+v", r.Percentiles)
	}
	if v := r.Percentiles[0].Value; v != 1000 {
		t.Errorf("max = %v", v)
	}
	if v := r.Percentiles[2].Value; v < 450 || v > 550 {
		t.Errorf("median = %v", v)
	}
	if e := Merge(nil, w.Samples()); e.Count != 0 || e.Percentiles != nil {
		t.Errorf("no quantiles: %+v", e)
	}
}

func TestWindowExpires(t *testing.T) {
	w := New(20*time.Millisecond, []float64{0.5})
	w.Insert(5)
	deadline := time.Now().Add(2 * time.Second)
	for w.Result().Count != 0 {
		if time.Now().After(deadline) {
			t.Fatal("old samples never left the window")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
