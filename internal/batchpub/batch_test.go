package batchpub_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/batchpub"
)

// buffer is a Source's owner as nsqlog and the harvester are: items added
// from other goroutines, a flush request, an end.
type buffer struct {
	mu      sync.Mutex // guards items, flush, ended
	items   []int
	flush   bool
	ended   bool
	wake    chan struct{}
	maxTake int
}

func newBuffer(maxTake int) *buffer {
	return &buffer{wake: make(chan struct{}, 1), maxTake: maxTake}
}

func (b *buffer) change(f func(b *buffer)) {
	b.mu.Lock()
	f(b)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *buffer) source(size int, timeout time.Duration) *batchpub.Source[[]int] {
	return &batchpub.Source[[]int]{
		Size:    size,
		Timeout: timeout,
		Wake:    b.wake,
		State: func() (int, bool, bool) {
			b.mu.Lock()
			defer b.mu.Unlock()
			return len(b.items), b.flush, b.ended
		},
		Take: func() []int {
			b.mu.Lock()
			defer b.mu.Unlock()
			n := min(len(b.items), b.maxTake)
			out := b.items[:n:n]
			b.items = b.items[n:]
			return out
		},
	}
}

// next runs Next in the background.
func next(ctx context.Context, s *batchpub.Source[[]int]) <-chan []int {
	ch := make(chan []int, 1)
	go func() {
		batch, ok := s.Next(ctx)
		if !ok {
			batch = nil
		}
		ch <- batch
	}()
	return ch
}

func wait(t *testing.T, ch <-chan []int) []int {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return")
		return nil
	}
}

func TestSourceNext(t *testing.T) {
	ctx := context.Background()

	t.Run("full", func(t *testing.T) {
		b := newBuffer(10)
		s := b.source(3, time.Hour)
		ch := next(ctx, s)
		b.change(func(b *buffer) { b.items = append(b.items, 1, 2) })
		b.change(func(b *buffer) { b.items = append(b.items, 3) })
		if got := wait(t, ch); !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("batch %v", got)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		b := newBuffer(10)
		s := b.source(100, time.Millisecond)
		b.change(func(b *buffer) { b.items = append(b.items, 1) })
		if got := wait(t, next(ctx, s)); !slices.Equal(got, []int{1}) {
			t.Errorf("batch %v", got)
		}
	})

	t.Run("flush", func(t *testing.T) {
		b := newBuffer(10)
		s := b.source(100, time.Hour)
		b.change(func(b *buffer) { b.items = append(b.items, 1, 2) })
		ch := next(ctx, s)
		b.change(func(b *buffer) { b.flush = true })
		if got := wait(t, ch); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("batch %v", got)
		}
	})

	t.Run("ended drains then stops", func(t *testing.T) {
		b := newBuffer(2)
		s := b.source(100, time.Hour)
		b.change(func(b *buffer) { b.items, b.flush, b.ended = []int{1, 2, 3}, true, true })
		for _, want := range [][]int{{1, 2}, {3}, nil} {
			if got := wait(t, next(ctx, s)); !slices.Equal(got, want) {
				t.Errorf("batch %v, want %v", got, want)
			}
		}
	})

	t.Run("context", func(t *testing.T) {
		b := newBuffer(10)
		s := b.source(100, time.Hour)
		b.change(func(b *buffer) { b.items = append(b.items, 1) })
		ctx, cancel := context.WithCancel(ctx)
		ch := next(ctx, s)
		cancel()
		if got := wait(t, ch); got != nil {
			t.Errorf("batch %v after cancel", got)
		}
		if _, ok := s.Next(ctx); ok {
			t.Error("Next on an ended context took a batch")
		}
	})
}

func TestFit(t *testing.T) {
	tests := []struct {
		name             string
		sizes            []int // -1: no message
		maxMsgs, maxBody int
		items, bytes     int
	}{
		{"empty", nil, 10, 100, 0, 0},
		{"all fit", []int{1, 2, 3}, 10, 100, 3, 6},
		{"message limit", []int{1, 1, 1, 1}, 2, 100, 2, 2},
		// body: 4 + (4+10) + (4+10) = 32
		{"body limit", []int{10, 10, 10}, 10, 32, 2, 20},
		{"first message always", []int{500, 1}, 10, 32, 1, 500},
		{"no-message items ride along", []int{-1, 5, -1, -1, 5, -1}, 1, 100, 4, 5},
		{"only no-message items", []int{-1, -1}, 1, 8, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, bytes := batchpub.Fit(len(tc.sizes), tc.maxMsgs, tc.maxBody, func(i int) int { return tc.sizes[i] })
			if items != tc.items || bytes != tc.bytes {
				t.Errorf("Fit = %d items, %d bytes; want %d, %d", items, bytes, tc.items, tc.bytes)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	f := batchpub.Failures{Every: time.Hour}
	if n := f.Recovered(); n != 0 {
		t.Fatalf("Recovered without a run = %d", n)
	}
	for i, want := range []bool{true, false, false} {
		if attempt, log := f.Failed(); attempt != i+1 || log != want {
			t.Errorf("failure %d: attempt %d, log %v; want %d, %v", i+1, attempt, log, i+1, want)
		}
	}
	if n := f.Recovered(); n != 3 {
		t.Errorf("Recovered = %d, want 3", n)
	}
	if attempt, log := f.Failed(); attempt != 1 || !log {
		t.Errorf("a new run starts at 1 and is logged: %d, %v", attempt, log)
	}
	every := batchpub.Failures{} // Every 0: log them all
	for i := 0; i < 3; i++ {
		if _, log := every.Failed(); !log {
			t.Errorf("failure %d not logged with Every 0", i+1)
		}
	}
}
