package brokerlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

func openEngine(t testing.TB, fsys vfs.FS, o Options) *Engine {
	t.Helper()
	o.FS, o.Dir = fsys, "/data"
	if o.SegmentBytes == 0 {
		o.SegmentBytes = 4096
	}
	if o.markEvery == 0 {
		o.markEvery = 2
	}
	o.Logf = t.Logf
	e, err := Open(o)
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	return e
}

// wait waits for a proposal to commit and be applied.
func wait(t testing.TB, e *Engine, p *logstore.Proposal) {
	t.Helper()
	if err := p.Wait(); err != nil {
		t.Fatalf("proposal: %v", err)
	}
	_, last := p.Indexes()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Committer().WaitApplied(ctx, last); err != nil {
		t.Fatalf("wait applied %d: %v", last, err)
	}
}

// flush commits pending FIN/REQ state now.
func flush(t testing.TB, e *Engine) {
	t.Helper()
	if recs := e.pend.gather(); len(recs) > 0 {
		wait(t, e, e.committer.ProposeBatch(recs))
	}
}

func msgID(n uint64) (id [16]byte) {
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

func msgs(from, n uint64, ts int64) []Message {
	out := make([]Message, n)
	for i := range out {
		k := from + uint64(i)
		out[i] = Message{ID: msgID(k), Timestamp: ts + int64(i), Body: []byte(fmt.Sprintf("body-%d", k))}
	}
	return out
}

// drain reads everything a new reader of the channel hands out.
func drain(t testing.TB, e *Engine, topic, channel string) []Delivery {
	t.Helper()
	return drainW(t, e, topic, channel, 7)
}

func drainW(t testing.TB, e *Engine, topic, channel string, window int) []Delivery {
	t.Helper()
	r, err := e.NewReader(topic, channel, ReaderOptions{WindowMessages: window})
	if err != nil {
		t.Fatal(err)
	}
	var out []Delivery
	for {
		ds, err := r.Next(max(window/2, 3))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return out
		}
		for _, d := range ds {
			d.Body = append([]byte(nil), d.Body...)
			out = append(out, d)
		}
	}
}

func seqs(ds []Delivery) []uint64 {
	out := make([]uint64, len(ds))
	for i, d := range ds {
		out[i] = d.Seq
	}
	return out
}

func TestChannelsAreCursors(t *testing.T) {
	e := openEngine(t, vfs.NewMemFS(), Options{})
	defer e.Close()
	// Messages before any channel are held for the first channel.
	wait(t, e, e.Publish("t", msgs(1, 5, 1000)))
	wait(t, e, e.CreateChannel("t", "first", Start{}))
	if got := seqs(drain(t, e, "t", "first")); fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("first channel got %v", got)
	}
	// A later channel starts at the tail.
	wait(t, e, e.CreateChannel("t", "late", Start{}))
	wait(t, e, e.Publish("t", msgs(6, 3, 2000)))
	if got := seqs(drain(t, e, "t", "late")); fmt.Sprint(got) != "[6 7 8]" {
		t.Fatalf("late channel got %v", got)
	}
	wait(t, e, e.CreateChannel("t", "replay", Start{Mode: StartEarliest}))
	if got := seqs(drain(t, e, "t", "replay")); len(got) != 8 {
		t.Fatalf("earliest channel got %v", got)
	}
	seq, err := e.SeqAtTime("t", 2001)
	if err != nil || seq != 7 {
		t.Fatalf("SeqAtTime(2001) = %d, %v", seq, err)
	}
	if seq, _ := e.SeqAtTime("t", 1<<62); seq != 9 {
		t.Fatalf("SeqAtTime(future) = %d, want the tail 9", seq)
	}
	for spec, want := range map[string]Start{"": {}, "latest": {}, "earliest": {Mode: StartEarliest}, "0": {Mode: StartSeq, Seq: 1}} {
		if got, err := e.ResolveStart("t", spec); err != nil || got != want {
			t.Fatalf("ResolveStart(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "soon", "1e3", " 5"} {
		if _, err := e.ResolveStart("t", bad); err == nil {
			t.Fatalf("ResolveStart(%q) accepted", bad)
		}
	}

	// FIN 1,2,4 and REQ 3: the floor moves to 3, 4 is a finished range.
	e.Finish("t", "first", 1)
	e.Finish("t", "first", 2)
	e.Finish("t", "first", 4)
	e.Requeue("t", "first", 3, 5555, 2)
	e.Delivered("t", "first", 5, 3)
	flush(t, e)
	ci, _ := e.State().Channel("t", "first")
	if ci.Floor != 3 || fmt.Sprint(ci.Finished) != "[{4 5}]" || len(ci.Requeued) != 1 || ci.Requeued[0] != (Requeue{3, 5555, 2}) || ci.Depth() != 5 {
		t.Fatalf("cursor %+v depth %d", ci, ci.Depth())
	}
	got := drain(t, e, "t", "first")
	if fmt.Sprint(seqs(got)) != "[5 6 7 8]" || got[0].Attempts != 3 || string(got[0].Body) != "body-5" {
		t.Fatalf("after FIN/REQ the reader gives %v (attempts %d)", seqs(got), got[0].Attempts)
	}
	e.Finish("t", "first", 3)
	flush(t, e)
	if ci, _ := e.State().Channel("t", "first"); ci.Floor != 5 || len(ci.Requeued) != 0 {
		t.Fatalf("cursor after FIN 3: %+v", ci)
	}

	wait(t, e, e.RewindChannel("t", "first", Start{Mode: StartSeq, Seq: 2}))
	if got := seqs(drain(t, e, "t", "first")); fmt.Sprint(got) != "[2 3 4 5 6 7 8]" {
		t.Fatalf("after rewind: %v", got)
	}
	wait(t, e, e.EmptyChannel("t", "first"))
	if got := drain(t, e, "t", "first"); len(got) != 0 {
		t.Fatalf("after empty: %v", seqs(got))
	}
	wait(t, e, e.PauseChannel("t", "late"))
	wait(t, e, e.PauseTopic("t"))
	ti, _ := e.State().Topic("t")
	if cl, _ := e.State().Channel("t", "late"); !ti.Paused || !cl.Paused {
		t.Fatal("pause not applied")
	}

	// Deleting every channel makes the topic hold again for the next one.
	for _, c := range []string{"first", "late", "replay"} {
		wait(t, e, e.DeleteChannel("t", c))
	}
	wait(t, e, e.Publish("t", msgs(9, 2, 3000)))
	wait(t, e, e.CreateChannel("t", "again", Start{}))
	if got := seqs(drain(t, e, "t", "again")); fmt.Sprint(got) != "[9 10]" {
		t.Fatalf("channel after all were deleted: %v", got)
	}
	wait(t, e, e.DeleteTopic("t"))
	if _, ok := e.State().Topic("t"); ok {
		t.Fatal("topic survived delete")
	}
	if _, err := e.NewReader("t", "again", ReaderOptions{}); err == nil {
		t.Fatal("reader on a deleted topic")
	}
	e.Close()
	if err := e.Close(); !errors.Is(err, logstore.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := e.Publish("t", msgs(1, 1, 0)).Wait(); !errors.Is(err, logstore.ErrSealed) {
		t.Fatalf("publish after Close: %v", err)
	}
}

func TestReaderWindowIsBoundedAndFollowsTail(t *testing.T) {
	e := openEngine(t, vfs.NewMemFS(), Options{})
	defer e.Close()
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	for i := uint64(0); i < 50; i++ {
		wait(t, e, e.Publish("t", msgs(1+i*10, 10, 0)))
		wait(t, e, e.Publish("other", msgs(1, 3, 0)))
	}
	r, err := e.NewReader("t", "c", ReaderOptions{WindowMessages: 16})
	if err != nil {
		t.Fatal(err)
	}
	next := uint64(1)
	for next <= 500 {
		ds, err := r.Next(100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 || len(ds) > 16 || r.Buffered() > 16 {
			t.Fatalf("window gave %d (buffered %d) at %d", len(ds), r.Buffered(), next)
		}
		for _, d := range ds {
			if d.Seq != next || string(d.Body) != fmt.Sprintf("body-%d", next) {
				t.Fatalf("got seq %d body %q, want %d", d.Seq, d.Body, next)
			}
			next++
		}
	}
	if ds, _ := r.Next(10); len(ds) != 0 {
		t.Fatalf("caught-up reader returned %d", len(ds))
	}
	select {
	case <-r.Wait():
		t.Fatal("caught-up reader's Wait is ready")
	default:
	}
	ch := r.Wait()
	wait(t, e, e.Publish("other", msgs(1, 1, 0)))
	select {
	case <-ch:
		t.Fatal("a publish to another topic woke the reader")
	default:
	}
	wait(t, e, e.Publish("t", msgs(501, 1, 0)))
	<-ch
	if ds, _ := r.Next(10); len(ds) != 1 || ds[0].Seq != 501 {
		t.Fatalf("tail message: %v", seqs(ds))
	}
	r.Next(10)
	for s := uint64(1); s <= 501; s++ {
		e.Finish("t", "c", s) // a rewind never skips what is unfinished
	}
	flush(t, e)
	ch = r.Wait()
	wait(t, e, e.RewindChannel("t", "c", Start{Mode: StartSeq, Seq: 500}))
	<-ch // a rewind wakes the reader too
	if ds, _ := r.Next(10); len(ds) != 2 || ds[0].Seq != 500 {
		t.Fatalf("after rewind: %v", seqs(ds))
	}
}

func TestRecoveryRebuildsStateWithAndWithoutCheckpoint(t *testing.T) {
	for _, withCP := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkpoint=%v", withCP), func(t *testing.T) {
			mem := vfs.NewMemFS()
			e := openEngine(t, mem, Options{})
			wait(t, e, e.CreateTopic("empty-topic"))
			wait(t, e, e.CreateChannel("t", "c", Start{}))
			wait(t, e, e.Publish("t", msgs(1, 20, 0)))
			if withCP {
				if _, err := e.Checkpoint(); err != nil {
					t.Fatal(err)
				}
			}
			deferred := msgs(21, 1, 100)
			deferred[0].Deferral = 1e9
			wait(t, e, e.Publish("t", deferred))
			for s := uint64(1); s <= 10; s++ {
				e.Finish("t", "c", s)
			}
			e.Requeue("t", "c", 12, 777, 4)
			flush(t, e)
			wait(t, e, e.CreateChannel("t", "d", Start{}))
			mem.Crash()

			e = openEngine(t, mem, Options{})
			defer e.Close()
			if ti, ok := e.State().Topic("empty-topic"); !ok || ti.NextSeq != 1 {
				t.Fatal("empty topic lost")
			}
			ci, ok := e.State().Channel("t", "c")
			if !ok || ci.Floor != 11 || len(ci.Requeued) != 1 || ci.Requeued[0].Attempts != 4 || ci.Requeued[0].Due != 777 {
				t.Fatalf("cursor after crash: %+v", ci)
			}
			got := drain(t, e, "t", "c")
			if fmt.Sprint(seqs(got)) != "[11 13 14 15 16 17 18 19 20 21]" || got[len(got)-1].Deferral != 1e9 {
				t.Fatalf("delivered after crash: %v", seqs(got))
			}
			if _, ok := e.State().Channel("t", "d"); !ok {
				t.Fatal("channel created just before the crash is gone")
			}
		})
	}
}

func TestCompactionAndRetention(t *testing.T) {
	mem := vfs.NewMemFS()
	e := openEngine(t, mem, Options{SegmentBytes: 512})
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	wait(t, e, e.CreateChannel("t", "slow", Start{}))
	for i := uint64(0); i < 40; i++ {
		wait(t, e, e.Publish("t", msgs(1+i*5, 5, int64(i))))
	}
	for s := uint64(1); s <= 200; s++ {
		e.Finish("t", "c", s)
	}
	for s := uint64(1); s <= 100; s++ {
		e.Finish("t", "slow", s)
	}
	flush(t, e)
	res, err := e.Compact(time.Unix(0, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed == 0 {
		t.Fatalf("nothing compacted: %+v, segments %v", res, e.Log().Segments())
	}
	// slow's floor (101) is still readable; what it finished may be gone.
	if got := drain(t, e, "t", "slow"); len(got) != 100 || got[0].Seq != 101 {
		t.Fatalf("slow channel after compaction: %d from %v", len(got), seqs(got)[:1])
	}
	ti, _ := e.State().Topic("t")
	if ti.FirstSeq <= 1 || ti.FirstSeq > 101 {
		t.Fatalf("first seq %d", ti.FirstSeq)
	}
	e.Close()

	// Reopen: the checkpoint covers the removed entries.
	e = openEngine(t, mem, Options{SegmentBytes: 512, RetainFor: time.Hour})
	if got := drain(t, e, "t", "slow"); len(got) != 100 {
		t.Fatalf("after reopen: %d", len(got))
	}
	wait(t, e, e.CreateChannel("t", "replay", Start{Mode: StartEarliest}))
	if got := drain(t, e, "t", "replay"); len(got) == 0 || got[0].Seq != ti.FirstSeq {
		t.Fatalf("earliest after compaction starts at %v, want %d", seqs(got)[:1], ti.FirstSeq)
	}
	wait(t, e, e.DeleteChannel("t", "replay"))
	for s := uint64(101); s <= 200; s++ {
		e.Finish("t", "slow", s)
	}
	flush(t, e)
	// Everything is finished, but an hour of retention keeps it (timestamps
	// are ~0, now is 30 minutes later).
	first := e.Log().FirstIndex()
	if _, err := e.Compact(time.Unix(0, int64(30*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if e.Log().FirstIndex() != first {
		t.Fatalf("retention did not keep finished segments: first %d -> %d", first, e.Log().FirstIndex())
	}
	if _, err := e.Compact(time.Unix(0, int64(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if e.Log().FirstIndex() == first {
		t.Fatalf("expired segments kept: %v", e.Log().Segments())
	}
	e.Close()
}
