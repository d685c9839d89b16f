package brokerlog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/vfs"
)

// seekModel is what a replay test expects: every message of topic "t"
// with its timestamp, and which the channel "c" finished.
type seekModel struct {
	ts       map[uint64]int64 // seq -> unix ns
	finished map[uint64]bool
	next     uint64
}

// firstAtOrAfter is the definition SeqAtTime must meet: the first retained
// message stamped at or after ns, else the tail.
func (m *seekModel) firstAtOrAfter(first uint64, ns int64) uint64 {
	for s := first; s < m.next; s++ {
		if m.ts[s] >= ns {
			return s
		}
	}
	return m.next
}

// afterRewind lists what "c" delivers after a rewind to seq: nothing that
// was unfinished is skipped, what was finished from seq on comes again.
func (m *seekModel) afterRewind(first, to uint64) []uint64 {
	var out []uint64
	for s := first; s < m.next; s++ {
		if !m.finished[s] || s >= to {
			out = append(out, s)
		}
	}
	return out
}

func msString(ns int64) string { return strconv.FormatInt(ns/int64(time.Millisecond), 10) }

// TestReplaySeekProperty: random batches with non-decreasing timestamps
// (ties, gaps) interleaved with another topic, random FINs, compaction
// with random size retention; then for random times the resolved seq,
// the dry-run counts of create and rewind, and what a real rewind
// delivers match the model, also after a power cut.
func TestReplaySeekProperty(t *testing.T) {
	seeds := 25
	if testing.Short() {
		seeds = 8
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { seekTrial(t, uint64(seed)) })
	}
}

func seekTrial(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	mem := vfs.NewMemFS()
	o := Options{SegmentBytes: 256 + int64(rng.IntN(1024))}
	if rng.IntN(2) == 0 {
		o.RetainBytes = int64(rng.IntN(4096))
	}
	e := openEngine(t, mem, o)
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	wait(t, e, e.CreateChannel("other", "o", Start{}))
	m := &seekModel{ts: map[uint64]int64{}, finished: map[uint64]bool{}, next: 1}
	ms := int64(1_700_000_000_000)
	var otherSeq uint64 = 1
	for b := 0; b < 40+rng.IntN(60); b++ {
		n := 1 + rng.IntN(5)
		batch := make([]Message, n)
		for i := range batch {
			ms += int64(rng.IntN(3)) // ties and gaps of whole milliseconds
			batch[i] = Message{ID: msgID(m.next), Timestamp: ms * int64(time.Millisecond), Body: []byte(fmt.Sprintf("body-%d", m.next))}
			m.ts[m.next] = batch[i].Timestamp
			m.next++
		}
		wait(t, e, e.Publish("t", batch))
		if rng.IntN(3) == 0 {
			wait(t, e, e.Publish("other", msgs(otherSeq, 2, ms)))
			e.Finish("other", "o", otherSeq)
			e.Finish("other", "o", otherSeq+1)
			otherSeq += 2
		}
	}
	// FIN a random prefix densely and the rest sparsely.
	prefix := uint64(rng.IntN(int(m.next)))
	for s := uint64(1); s < m.next; s++ {
		if s < prefix || rng.IntN(4) == 0 {
			e.Finish("t", "c", s)
			m.finished[s] = true
		}
	}
	flush(t, e)
	if _, err := e.Compact(time.Unix(0, ms*int64(time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	ti, _ := e.State().Topic("t")
	first := ti.FirstSeq
	if ci, _ := e.State().Channel("t", "c"); first > ci.Floor {
		t.Fatalf("compaction passed the floor: first %d floor %d", first, ci.Floor)
	}
	lo, hi := m.ts[1]-5*int64(time.Millisecond), ms*int64(time.Millisecond)+5*int64(time.Millisecond)
	ctx := context.Background()
	for k := 0; k < 30; k++ {
		at := (lo + rng.Int64N(hi-lo)) / int64(time.Millisecond) * int64(time.Millisecond)
		want := m.firstAtOrAfter(first, at)
		if got, err := e.SeqAtTime("t", at); err != nil || got != want {
			t.Fatalf("SeqAtTime(%d) = %d, %v; want %d", at, got, err, want)
		}
		cr, err := e.Replay(ctx, ReplayRequest{Topic: "t", Channel: "new", Position: msString(at), Create: true, DryRun: true})
		if err != nil || cr.Seq != want || cr.Messages != m.next-want {
			t.Fatalf("create dry run at %d: %+v, %v; want seq %d, %d messages", at, cr, err, want, m.next-want)
		}
		rr, err := e.Replay(ctx, ReplayRequest{Topic: "t", Channel: "c", Position: msString(at), DryRun: true})
		if exp := m.afterRewind(first, want); err != nil || rr.Messages != uint64(len(exp)) {
			t.Fatalf("rewind dry run at %d: %+v, %v; want %d messages", at, rr, err, len(exp))
		}
	}
	if _, ok := e.State().Channel("t", "new"); ok {
		t.Fatal("a dry run created a channel")
	}

	// A real rewind and a create at a time, then a power cut.
	at := (lo + rng.Int64N(hi-lo)) / int64(time.Millisecond) * int64(time.Millisecond)
	to := m.firstAtOrAfter(first, at)
	exp := m.afterRewind(first, to)
	if rr, err := e.Replay(ctx, ReplayRequest{Topic: "t", Channel: "c", Position: msString(at)}); err != nil || rr.Messages != uint64(len(exp)) {
		t.Fatalf("rewind at %d: %+v, %v; want %d", at, rr, err, len(exp))
	}
	if cr, err := e.Replay(ctx, ReplayRequest{Topic: "t", Channel: "new", Position: msString(at), Create: true}); err != nil || cr.Seq != to {
		t.Fatalf("create at %d: %+v, %v; want seq %d", at, cr, err, to)
	}
	check := func(e *Engine, when string) {
		t.Helper()
		if got := seqs(drain(t, e, "t", "c")); !slices.Equal(got, exp) {
			t.Fatalf("%s: rewound channel delivers %v, want %v", when, got, exp)
		}
		var want []uint64
		for s := to; s < m.next; s++ {
			want = append(want, s)
		}
		if got := seqs(drain(t, e, "t", "new")); !slices.Equal(got, want) {
			t.Fatalf("%s: channel created at seq %d delivers %v", when, to, got)
		}
	}
	check(e, "before the cut")
	mem.Crash()
	e2 := openEngine(t, mem, o)
	defer e2.Close()
	check(e2, "after the power cut")
}

// TestReplayFinBeforeRewind: FINs collected but not yet committed when a
// rewind is proposed apply before it, so the rewind reopens them.
func TestReplayFinBeforeRewind(t *testing.T) {
	e := openEngine(t, vfs.NewMemFS(), Options{})
	defer e.Close()
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	wait(t, e, e.Publish("t", msgs(1, 10, 1000)))
	for s := uint64(1); s <= 10; s++ {
		e.Finish("t", "c", s) // pending: not flushed
	}
	res, err := e.Replay(context.Background(), ReplayRequest{Topic: "t", Channel: "c", Position: "earliest"})
	if err != nil || res.Messages != 10 {
		t.Fatalf("rewind: %+v, %v", res, err)
	}
	flush(t, e)
	if got := seqs(drain(t, e, "t", "c")); len(got) != 10 || got[0] != 1 {
		t.Fatalf("after the rewind the channel delivers %v", got)
	}
}

// TestReplayRewindKeepsUnfinished: a rewind to a point after the floor
// keeps everything unfinished below it and what was finished there stays
// finished.
func TestReplayRewindKeepsUnfinished(t *testing.T) {
	e := openEngine(t, vfs.NewMemFS(), Options{})
	defer e.Close()
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	for i := uint64(0); i < 10; i++ {
		wait(t, e, e.Publish("t", []Message{{ID: msgID(i + 1), Timestamp: int64(i+1) * int64(time.Millisecond)}}))
	}
	for _, s := range []uint64{1, 2, 4, 5, 6, 8, 9, 10} { // 3 and 7 unfinished
		e.Finish("t", "c", s)
	}
	e.Requeue("t", "c", 7, 1<<62, 2)
	flush(t, e)
	res, err := e.Replay(context.Background(), ReplayRequest{Topic: "t", Channel: "c", Position: "6"}) // seq 6 on
	if err != nil || res.Seq != 3 || res.Messages != 6 {
		t.Fatalf("rewind to 6ms: %+v, %v; want floor 3, 6 messages (3, 6..10)", res, err)
	}
	if got := fmt.Sprint(seqs(drain(t, e, "t", "c"))); got != "[3 6 7 8 9 10]" {
		ci, _ := e.State().Channel("t", "c")
		t.Fatalf("delivers %s; cursor %+v", got, ci)
	}
	if ci, _ := e.State().Channel("t", "c"); len(ci.Requeued) != 0 {
		t.Fatalf("the rewind kept the requeued set: %+v", ci.Requeued)
	}
}

// TestReplayErrors: positions and names are checked and nothing changes.
func TestReplayErrors(t *testing.T) {
	e := openEngine(t, vfs.NewMemFS(), Options{})
	defer e.Close()
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	applied := e.State().Applied()
	for _, tc := range []struct {
		r    ReplayRequest
		want error
	}{
		{ReplayRequest{Topic: "t", Channel: "c", Position: "latest"}, ErrBadPosition},
		{ReplayRequest{Topic: "t", Channel: "c", Position: "+5"}, ErrBadPosition},
		{ReplayRequest{Topic: "t", Channel: "c", Position: "9223372036854776"}, ErrBadPosition},
		{ReplayRequest{Topic: "t", Channel: "c", Position: ""}, ErrBadPosition},
		{ReplayRequest{Topic: "nope", Channel: "c", Position: "earliest"}, ErrNoTopic},
		{ReplayRequest{Topic: "nope", Channel: "c", Position: "5"}, ErrNoTopic},
		{ReplayRequest{Topic: "t", Channel: "nope", Position: "earliest"}, ErrNoChannel},
		{ReplayRequest{Topic: "t", Channel: "c", Position: "earliest", Create: true}, ErrChannelExists},
	} {
		if _, err := e.Replay(context.Background(), tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.r, err, tc.want)
		}
	}
	// only barriers (noops) were written
	if ti, _ := e.State().Topic("t"); len(ti.Channels) != 1 || e.State().Applied() < applied {
		t.Fatalf("state changed: %+v", ti)
	}
}

// TestRetentionEitherLimit: with a duration and a size, a finished
// segment stays while it is young or the log is small, and goes once both
// fail.
func TestRetentionEitherLimit(t *testing.T) {
	mem := vfs.NewMemFS()
	e := openEngine(t, mem, Options{SegmentBytes: 512, RetainFor: time.Hour, RetainBytes: 2048})
	defer e.Close()
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	for i := uint64(0); i < 40; i++ {
		wait(t, e, e.Publish("t", msgs(1+i*5, 5, int64(i))))
	}
	for s := uint64(1); s <= 200; s++ {
		e.Finish("t", "c", s)
	}
	flush(t, e)
	first := e.Log().FirstIndex()
	if _, err := e.Compact(time.Unix(0, int64(30*time.Minute))); err != nil { // young, big
		t.Fatal(err)
	}
	if e.Log().FirstIndex() != first {
		t.Fatal("a young segment went although the duration holds")
	}
	if _, err := e.Compact(time.Unix(0, int64(2*time.Hour))); err != nil { // old, big: down to the size
		t.Fatal(err)
	}
	var total int64
	for _, sg := range e.Log().Segments() {
		total += sg.Bytes
	}
	if e.Log().FirstIndex() == first || total > 2048+512+256 {
		t.Fatalf("old segments beyond the size kept: %d bytes, %v", total, e.Log().Segments())
	}
	if from, ok := e.RetainedFrom("t"); !ok || from <= 0 {
		t.Fatalf("RetainedFrom = %d, %v", from, ok)
	}
	ti, _ := e.State().Topic("t")
	res, err := e.Replay(context.Background(), ReplayRequest{Topic: "t", Channel: "c", Position: "earliest"})
	if err != nil || res.Seq != ti.FirstSeq || res.Messages != ti.NextSeq-ti.FirstSeq {
		t.Fatalf("earliest after retention: %+v, %v; topic %+v", res, err, ti)
	}
}
