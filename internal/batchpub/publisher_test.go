package batchpub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/batchpub"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlog/nsqlogtest"
)

func newPublisher(tb testing.TB, addrs ...string) *batchpub.Publisher {
	tb.Helper()
	cfg := nsq.NewConfig()
	cfg.DialTimeout = time.Second
	p, err := batchpub.New(addrs, cfg, testutil.NewLogger(tb), nsq.LogLevelWarning)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	return p
}

func bodies(prefix string, n int) ([][]byte, []string) {
	var bs [][]byte
	var ss []string
	for i := 0; i < n; i++ {
		s := fmt.Sprintf("%s-%03d", prefix, i)
		bs = append(bs, []byte(s))
		ss = append(ss, s)
	}
	return bs, ss
}

func TestNewNeedsAnAddress(t *testing.T) {
	if _, err := batchpub.New(nil, nil, nil, nsq.LogLevelWarning); !errors.Is(err, batchpub.ErrNoAddress) {
		t.Fatalf("no address: %v", err)
	}
}

// A dead first address is failed over at once, without backoff, and every
// body arrives.
func TestPublishRetryFailover(t *testing.T) {
	addr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	topic := nsqlogtest.Topic("failover")
	cons := nsqlogtest.Consume(t, addr, topic)
	dead := testutil.FreeAddr(t)
	p := newPublisher(t, dead, addr)
	if p.Addr() != dead {
		t.Fatalf("first address %s, want %s", p.Addr(), dead)
	}
	var failed []string
	r := batchpub.Retry{
		Backoff:    time.Hour, // a backoff would hang the test: failover must not wait
		MaxBackoff: time.Hour,
		OnError: func(err error, n int) {
			failed = append(failed, fmt.Sprintf("%d %v", n, err))
		},
	}
	bs, want := bodies("m", 10)
	n, err := p.PublishRetry(context.Background(), topic, bs, r)
	if err != nil || n != len(bs) {
		t.Fatalf("PublishRetry = %d, %v", n, err)
	}
	if len(failed) != 1 || !strings.HasPrefix(failed[0], "10 MPUB 10 messages to "+dead) {
		t.Errorf("failures %q, want one naming %s", failed, dead)
	}
	if p.Addr() != addr {
		t.Errorf("next address %s, want %s", p.Addr(), addr)
	}
	cons.WaitAll(t, want, 10*time.Second)
}

// A message larger than nsqd's --max-msg-size is found by splitting the
// batch, reported and skipped; the rest arrives.
func TestPublishRetryRejected(t *testing.T) {
	addr, _ := nsqdtest.Addrs(nsqdtest.Start(t, func(o *nsqd.Options) { o.MaxMsgSize = 64 }))
	topic := nsqlogtest.Topic("rejected")
	cons := nsqlogtest.Consume(t, addr, topic)
	p := newPublisher(t, addr)
	bs, want := bodies("ok", 6)
	bs = append(bs[:4:4], append([][]byte{[]byte(strings.Repeat("x", 100))}, bs[4:]...)...)
	var rejected []int
	r := batchpub.Retry{
		Backoff:    time.Millisecond,
		MaxBackoff: time.Millisecond,
		OnRejected: func(i int, err error) {
			if !batchpub.IsRejected(err) {
				t.Errorf("OnRejected with %v", err)
			}
			rejected = append(rejected, i)
		},
	}
	n, err := p.PublishRetry(context.Background(), topic, bs, r)
	if err != nil || n != len(bs) {
		t.Fatalf("PublishRetry = %d, %v", n, err)
	}
	if len(rejected) != 1 || rejected[0] != 4 {
		t.Errorf("rejected %v, want [4]", rejected)
	}
	cons.WaitAll(t, want, 10*time.Second)
	if u := cons.Unexpected(want); len(u) != 0 {
		t.Errorf("unexpected %q", u)
	}
}

// With nothing to publish to, PublishRetry keeps trying until Stop or the
// context ends it.
func TestPublishRetryGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(p *batchpub.Publisher, cancel context.CancelFunc)
		want error
	}{
		{"stop", func(p *batchpub.Publisher, _ context.CancelFunc) { p.Stop() }, batchpub.ErrStopped},
		{"context", func(_ *batchpub.Publisher, cancel context.CancelFunc) { cancel() }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPublisher(t, testutil.FreeAddr(t))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tried := make(chan struct{}, 100)
			r := batchpub.Retry{
				Backoff:    time.Hour,
				MaxBackoff: time.Hour,
				OnError:    func(error, int) { tried <- struct{}{} },
			}
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := p.PublishRetry(ctx, "t", [][]byte{[]byte("a")}, r)
				done <- result{n, err}
			}()
			<-tried // now waiting in its backoff
			tc.end(p, cancel)
			select {
			case res := <-done:
				if res.n != 0 || !errors.Is(res.err, tc.want) {
					t.Errorf("PublishRetry = %d, %v; want 0, %v", res.n, res.err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("PublishRetry did not return")
			}
		})
	}
}
