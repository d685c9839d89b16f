package harvester

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

func ev(data string) event {
	if data == "" {
		return event{}
	}
	return event{data: []byte(data)}
}

func TestQueueBlocksWhenFullAndReleases(t *testing.T) {
	var c counters
	q := newQueue(3, 1<<20, &c)
	ctx := context.Background()
	for _, d := range []string{"a", "b", "c"} {
		if err := q.push(ctx, ev(d)); err != nil {
			t.Fatal(err)
		}
	}
	pushed := make(chan error, 1)
	go func() { pushed <- q.push(ctx, ev("d")) }()
	select {
	case err := <-pushed:
		t.Fatalf("push into a full queue returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	batch := q.take(10, 1<<20)
	if len(batch) != 3 {
		t.Fatalf("took %d events, want 3", len(batch))
	}
	// Taken but unacknowledged events still hold their room.
	select {
	case err := <-pushed:
		t.Fatalf("push returned %v before the batch was released", err)
	case <-time.After(50 * time.Millisecond):
	}
	if got := c.eventsPending.Load(); got != 3 {
		t.Errorf("events_pending = %d, want 3", got)
	}
	q.release(batch)
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	if got := c.eventsPending.Load(); got != 1 {
		t.Errorf("events_pending = %d, want 1", got)
	}
}

func TestQueueByteLimit(t *testing.T) {
	var c counters
	q := newQueue(100, 10, &c)
	ctx := context.Background()
	// One event is always let in, however big.
	if err := q.push(ctx, ev("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := q.push(cctx, ev("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("push over the byte limit = %v, want to wait until the deadline", err)
	}
}

func TestQueueTakeLimits(t *testing.T) {
	tests := []struct {
		name    string
		items   []string // "" is an offset-only event
		maxMsgs int
		maxBody int
		want    int
	}{
		{"by count", []string{"a", "b", "c"}, 2, 1 << 20, 2},
		{"offset-only events ride along", []string{"a", "", "", "b", "c"}, 2, 1 << 20, 4},
		{"by body bytes", []string{"aaaa", "bbbb", "cccc"}, 10, 4 + 8 + 8, 2},
		{"first always taken", []string{"aaaaaaaaaa", "b"}, 10, 5, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c counters
			q := newQueue(100, 1<<20, &c)
			for _, d := range tc.items {
				if err := q.push(context.Background(), ev(d)); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(q.take(tc.maxMsgs, tc.maxBody)); got != tc.want {
				t.Errorf("took %d, want %d", got, tc.want)
			}
			if got := q.queued(); got != len(tc.items)-tc.want {
				t.Errorf("%d left, want %d", got, len(tc.items)-tc.want)
			}
		})
	}
}

func TestQueueCloseWakesPushers(t *testing.T) {
	var c counters
	q := newQueue(1, 1<<20, &c)
	if err := q.push(context.Background(), ev("a")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- q.push(context.Background(), ev("b")) }()
	q.close()
	var err error
	testutil.Eventually(t, 5*time.Second, func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	}, "blocked push did not return after close")
	if !errors.Is(err, errQueueClosed) {
		t.Errorf("push after close = %v, want errQueueClosed", err)
	}
}
