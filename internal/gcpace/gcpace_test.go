package gcpace

import (
	"runtime"
	"testing"
	"time"
)

type recorder struct{ set []int }

func (r *recorder) setPercent(n int) int {
	r.set = append(r.set, n)
	return 0
}

func TestObserve(t *testing.T) {
	cfg := Config{Low: 50, High: 100, Up: 20e6, Down: 4e6, Window: time.Second}
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type obs struct {
		at        float64 // seconds
		allocated uint64  // bytes so far
		want      int
	}
	tests := []struct {
		name string
		obs  []obs
		sets []int // setPercent calls after New's
	}{
		{"light load stays low", []obs{{0, 0, 50}, {1, 10e6, 50}, {2, 20e6, 50}, {3, 30e6, 50}}, nil},
		{"window not over yet", []obs{{0, 0, 50}, {0.5, 400e6, 50}}, nil},
		{"heavy load goes high", []obs{{0, 0, 50}, {0.5, 20e6, 50}, {1, 30e6, 100}, {2, 100e6, 100}}, []int{100}},
		{"between thresholds keeps high", []obs{{0, 0, 50}, {1, 100e6, 100}, {2, 110e6, 100}}, []int{100}},
		{"load gone returns low", []obs{{0, 0, 50}, {1, 100e6, 100}, {2, 102e6, 50}}, []int{100, 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			p := New(cfg, r.setPercent)
			for i, o := range tt.obs {
				if got := p.Observe(at(o.at), o.allocated); got != o.want {
					t.Fatalf("observation %d (%+v): percent %d, want %d", i, o, got, o.want)
				}
			}
			if got := r.set[1:]; len(got) != len(tt.sets) || (len(got) > 0 && !equal(got, tt.sets)) {
				t.Fatalf("setPercent calls after the first: %v, want %v", got, tt.sets)
			}
			if r.set[0] != cfg.Low {
				t.Fatalf("New set %d, want Low %d", r.set[0], cfg.Low)
			}
		})
	}
}

func equal(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestStopRestoresHigh(t *testing.T) {
	var r recorder
	p := New(Default, r.setPercent)
	p.Stop()
	p.Stop()
	if want := []int{Default.Low, Default.High}; !equal(r.set, want) {
		t.Fatalf("setPercent calls %v, want %v", r.set, want)
	}
	p.Observe(time.Unix(0, 0), 0)
	p.Observe(time.Unix(10, 0), 10e9)
	if p.Percent() != Default.High || len(r.set) != 2 {
		t.Fatalf("a stopped pacer changed the setting: %d, calls %v", p.Percent(), r.set)
	}
}

func TestOperatorSet(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"GOGC": "200"}, true},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, true},
		{map[string]string{"GOGC": ""}, false},
		{map[string]string{"GODEBUG": "gctrace=1"}, false},
	}
	for _, tt := range tests {
		lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
		if got := OperatorSet(lookup); got != tt.want {
			t.Errorf("OperatorSet(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

// TestCyclesObserved runs real GC cycles and waits until the armed
// sentinel has reported some (the setting goes to a recorder, not the
// process).
func TestCyclesObserved(t *testing.T) {
	var r recorder
	p := New(Default, r.setPercent)
	p.arm()
	defer p.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for p.Cycles() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("observed %d GC cycles of the ones forced in 30 s", p.Cycles())
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // let the cleanup goroutine run
	}
}
