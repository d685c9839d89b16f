package nsqlog_test

import (
	"errors"
	"fmt"
	"log"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlog"
	"github.com/dropin/nsq/nsqlog/nsqlogtest"
)

func newWriter(tb testing.TB, opts nsqlog.Options) *nsqlog.Writer {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = testutil.NewLogger(tb)
	}
	w, err := nsqlog.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close() })
	return w
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts nsqlog.Options
	}{
		{"no address", nsqlog.Options{Topic: "t"}},
		{"no topic", nsqlog.Options{NSQDTCPAddresses: []string{"127.0.0.1:1"}}},
		{"bad topic", nsqlog.Options{NSQDTCPAddresses: []string{"127.0.0.1:1"}, Topic: "a/b"}},
		{"bad policy", nsqlog.Options{NSQDTCPAddresses: []string{"127.0.0.1:1"}, Topic: "t", Policy: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if w, err := nsqlog.New(tc.opts); err == nil {
				w.Close()
				t.Fatal("New accepted bad options")
			}
		})
	}
}

// TestZapDeliversEveryLine logs through zap (and through the standard log
// package) into a real nsqd; a consumer must receive every line.
func TestZapDeliversEveryLine(t *testing.T) {
	const n = 3000
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	tests := []struct {
		name string
		log  func(w *nsqlog.Writer, i int)
		body func(i int) string
	}{
		{
			name: "zap",
			log: func() func(w *nsqlog.Writer, i int) {
				var once sync.Once
				var logger *zap.Logger
				return func(w *nsqlog.Writer, i int) {
					once.Do(func() {
						enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "level", EncodeLevel: zapcore.LowercaseLevelEncoder})
						logger = zap.New(zapcore.NewCore(enc, w, zap.InfoLevel))
					})
					logger.Info(fmt.Sprintf("line-%06d", i), zap.Int("n", i))
					if i == n-1 {
						if err := logger.Sync(); err != nil {
							t.Errorf("zap Sync: %s", err)
						}
					}
				}
			}(),
			body: func(i int) string { return fmt.Sprintf(`{"level":"info","msg":"line-%06d","n":%d}`, i, i) },
		},
		{
			name: "io.Writer",
			log: func() func(w *nsqlog.Writer, i int) {
				var once sync.Once
				var l *log.Logger
				return func(w *nsqlog.Writer, i int) {
					once.Do(func() { l = log.New(w, "std ", 0) })
					l.Printf("line-%06d", i)
				}
			}(),
			body: func(i int) string { return fmt.Sprintf("std line-%06d", i) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topic := nsqlogtest.Topic("zap")
			cons := nsqlogtest.Consume(t, nsqdAddr, topic)
			w := newWriter(t, nsqlog.Options{NSQDTCPAddresses: []string{nsqdAddr}, Topic: topic, BatchSize: 64})
			want := make([]string, n)
			for i := 0; i < n; i++ {
				tc.log(w, i)
				want[i] = tc.body(i)
			}
			if err := w.Sync(); err != nil {
				t.Fatalf("Sync: %s", err)
			}
			if s := w.Stats(); s.Delivered != n || s.Buffered != 0 {
				t.Errorf("after Sync: %+v, want %d delivered", s, n)
			}
			cons.WaitAll(t, want, 30*time.Second)
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %s", err)
			}
			if u := cons.Unexpected(want); len(u) != 0 {
				t.Errorf("unexpected messages %q", u)
			}
			if s := w.Stats(); s.Written != n || s.Delivered != n || s.Dropped != 0 || s.Rejected != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestPolicyWhenUnreachable writes while nsqd is down: Drop discards and
// counts what does not fit, Block waits and counts the waits; both deliver
// what they kept once nsqd is up.
func TestPolicyWhenUnreachable(t *testing.T) {
	const (
		capacity = 10
		lines    = 30
	)
	tests := []struct {
		policy      nsqlog.Policy
		wantDropped int64
	}{
		{nsqlog.Drop, lines - capacity},
		{nsqlog.Block, 0},
	}
	for _, tc := range tests {
		t.Run(tc.policy.String(), func(t *testing.T) {
			addr := testutil.FreeAddr(t)
			topic := nsqlogtest.Topic("policy")
			w := newWriter(t, nsqlog.Options{
				NSQDTCPAddresses: []string{addr}, Topic: topic, Policy: tc.policy,
				MaxBufferedLines: capacity, BatchSize: 4,
				RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 50 * time.Millisecond,
				SyncTimeout: 100 * time.Millisecond,
			})
			want := make([]string, lines)
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				for i := range want {
					want[i] = fmt.Sprintf("p-%03d", i)
					if _, err := fmt.Fprintln(w, want[i]); err != nil {
						t.Errorf("Write: %s", err)
					}
				}
			}()
			switch tc.policy {
			case nsqlog.Drop:
				<-wrote // never blocks
				if s := w.Stats(); s.Dropped != tc.wantDropped || s.Written != capacity {
					t.Fatalf("stats %+v, want %d dropped and %d written", s, tc.wantDropped, capacity)
				}
				want = want[:capacity] // the first lines fit, the rest were dropped
			case nsqlog.Block:
				testutil.Eventually(t, 10*time.Second, func() bool {
					s := w.Stats()
					return s.Blocked == 1 && s.Written == capacity && s.Retries > 0
				}, "writer not blocked at the buffer limit: %+v", w.Stats())
				select {
				case <-wrote:
					t.Fatal("writer finished while nsqd was down")
				default:
				}
			}
			if err := w.Sync(); !errors.Is(err, nsqlog.ErrSyncTimeout) {
				t.Errorf("Sync while nsqd is down = %v, want ErrSyncTimeout", err)
			}

			nsqdtest.Start(t, func(o *nsqd.Options) { o.TCPAddress = addr })
			cons := nsqlogtest.Consume(t, addr, topic)
			<-wrote
			cons.WaitAll(t, want, 30*time.Second)
			if err := w.Close(); err != nil {
				t.Errorf("Close: %s", err)
			}
			if s := w.Stats(); s.Delivered != int64(len(want)) || s.Dropped != tc.wantDropped {
				t.Errorf("stats %+v, want %d delivered and %d dropped", s, len(want), tc.wantDropped)
			}
		})
	}
}

// TestCloseWhileUnreachable: Close gives up after CloseTimeout, releases a
// blocked writer, and counts every undelivered line.
func TestCloseWhileUnreachable(t *testing.T) {
	w := newWriter(t, nsqlog.Options{
		NSQDTCPAddresses: []string{testutil.FreeAddr(t)}, Topic: "never", Policy: nsqlog.Block,
		MaxBufferedLines: 3, RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 20 * time.Millisecond,
		CloseTimeout: 100 * time.Millisecond,
	})
	for i := 0; i < 3; i++ {
		fmt.Fprintln(w, "kept", i)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := fmt.Fprintln(w, "blocked")
		blocked <- err
	}()
	testutil.Eventually(t, 10*time.Second, func() bool { return w.Stats().Blocked == 1 }, "writer not blocked")
	if err := w.Close(); !errors.Is(err, nsqlog.ErrUndelivered) {
		t.Errorf("Close = %v, want ErrUndelivered", err)
	}
	if err := <-blocked; !errors.Is(err, nsqlog.ErrClosed) {
		t.Errorf("blocked Write = %v, want ErrClosed", err)
	}
	if _, err := fmt.Fprintln(w, "late"); !errors.Is(err, nsqlog.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if s := w.Stats(); s.Dropped != 5 || s.Delivered != 0 || s.Buffered != 0 {
		t.Errorf("stats %+v, want 5 dropped (3 buffered, 1 blocked, 1 late)", s)
	}
}

// TestRejectedLine sends a line over nsqd's --max-msg-size between two
// good ones: nsqd refuses it, it is counted, and the others arrive.
func TestRejectedLine(t *testing.T) {
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	topic := nsqlogtest.Topic("reject")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	w := newWriter(t, nsqlog.Options{NSQDTCPAddresses: []string{nsqdAddr}, Topic: topic, BatchTimeout: time.Hour})
	big := make([]byte, 2<<20) // nsqd's default --max-msg-size is 1 MiB
	for i := range big {
		big[i] = 'x'
	}
	for _, l := range [][]byte{[]byte("before"), big, []byte("after")} {
		if _, err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync: %s", err)
	}
	cons.WaitAll(t, []string{"before", "after"}, 30*time.Second)
	if s := w.Stats(); s.Rejected != 1 || s.Delivered != 2 || s.Dropped != 0 {
		t.Errorf("stats %+v, want 1 rejected and 2 delivered", s)
	}
}
