package nsqd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dropin/nsq/internal/lg"
)

// TestSpillOrderConcurrentPublishers: a channel whose backlog starts on
// disk, published to by four goroutines at once while one subscriber
// drains it, crosses the memory / disk / tail boundary many times (the
// tail spills while the subscriber lags, and joins the memory queue when
// it catches up). Every message arrives exactly once, and after every
// message of each publish that had returned before another one began:
// publish order, as far as concurrent publishers define one.
func TestSpillOrderConcurrentPublishers(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 20
	n := startNSQD(t, opts)
	tp, err := n.GetTopic("spill")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.GetChannel("c"); err != nil {
		t.Fatal(err)
	}
	const publishers, batches, batch = 4, 60, 7
	var (
		mu      sync.Mutex
		done    int   // publishes returned so far
		started []int // per batch: done when it began
		ended   []int // per batch: done counting itself
		size    []int
	)
	publishBatch := func(k int) error {
		mu.Lock()
		id := len(started)
		started = append(started, done)
		ended = append(ended, 0)
		size = append(size, k)
		mu.Unlock()
		bodies := make([][]byte, k)
		for i := range bodies {
			bodies[i] = []byte(fmt.Sprintf("%d-%d", id, i))
		}
		err := tp.Publish(bodies, 0)
		mu.Lock()
		done++
		ended[id] = done
		mu.Unlock()
		return err
	}
	// a head start of 50 on disk before anything is consumed
	if err := publishBatch(70); err != nil {
		t.Fatal(err)
	}
	if cs := channelStatsOf(t, n, "spill", "c"); cs.BackendDepth == 0 {
		t.Fatalf("nothing on disk after publishing 70 with --mem-queue-size=20: %+v", cs)
	}
	sub := subscribe(t, n, "spill", "c", 3)
	errs := make(chan error, publishers)
	var wg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				if err := publishBatch(batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	total := 70 + publishers*batches*batch
	var order [][2]int // batch, index
	for i := 0; i < total; i++ {
		m := sub.readMsg()
		sub.cmd("FIN " + m.id)
		a, b, _ := strings.Cut(m.body, "-")
		id, err1 := strconv.Atoi(a)
		idx, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil {
			t.Fatalf("unexpected body %q", m.body)
		}
		order = append(order, [2]int{id, idx})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// each message once, each batch in its own order
	next := make([]int, len(started))
	for i, o := range order {
		if o[1] != next[o[0]] {
			t.Fatalf("delivery %d is message %d of publish %d, want %d (lost, repeated or reordered)", i, o[1], o[0], next[o[0]])
		}
		next[o[0]]++
	}
	// a publish that returned before another began is delivered entirely
	// before any of it
	seen := make([]int, len(started)) // messages of each batch delivered so far
	for i, o := range order {
		for a := range started {
			if ended[a] <= started[o[0]] && seen[a] < size[a] {
				t.Fatalf("delivery %d (publish %d) overtook message %d of publish %d, which returned before it began",
					i, o[0], seen[a], a)
			}
		}
		seen[o[0]]++
	}
	if cs := channelStatsOf(t, n, "spill", "c"); cs.Depth != 0 || cs.BackendDepth != 0 {
		t.Fatalf("left behind: %+v", cs)
	}
}

// TestCleanRestartOrderWithTail stops a daemon whose channel has a
// backlog on disk and newer messages in the tail behind it, besides older
// ones in memory and in flight. After the restart the disk's records
// come first, then the tail (both in publish order: one run), then the
// older memory queue in order, then what was in flight.
func TestCleanRestartOrderWithTail(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 10
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go n.Main()
	httpDo(t, n, "POST", "/topic/create?topic=tail", "")
	httpDo(t, n, "POST", "/channel/create?topic=tail&channel=c", "")
	name := func(i int) string { return fmt.Sprintf("m%02d", i) }
	var bodies []string
	for i := 0; i < 30; i++ {
		bodies = append(bodies, name(i))
	}
	p := dial(t, n)
	p.cmd("MPUB tail", mpubBody(bodies...)) // m00-m09 in memory, m10-m29 on disk
	p.expectOK()
	sub := subscribe(t, n, "tail", "c", 5)
	for i := 0; i < 5; i++ { // m00-m04 stay in flight: memory has room for five
		if m := sub.readMsg(); m.body != name(i) {
			t.Fatalf("delivery %d: %q", i, m.body)
		}
	}
	var later []string
	for i := 30; i < 35; i++ {
		later = append(later, name(i))
	}
	p.cmd("MPUB tail", mpubBody(later...)) // behind the disk: the tail
	p.expectOK()
	cs := channelStatsOf(t, n, "tail", "c")
	if cs.Depth != 30 || cs.BackendDepth != 20 || cs.InFlightCount != 5 {
		t.Fatalf("before the stop: %+v, want depth 30 (10 of them in memory), 20 on disk, 5 in flight", cs)
	}
	n.Exit()

	n2 := startNSQD(t, opts)
	sub2 := subscribe(t, n2, "tail", "c", 100)
	var got []string
	for i := 0; i < 35; i++ {
		m := sub2.readMsg()
		got = append(got, m.body)
		sub2.cmd("FIN " + m.id)
	}
	var want []string
	for i := 10; i < 35; i++ { // disk, then tail
		want = append(want, name(i))
	}
	for i := 5; i < 10; i++ { // the memory queue
		want = append(want, name(i))
	}
	inFlight := got[30:]
	got = got[:30]
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after restart got %v\nwant %v", got, want)
	}
	seen := map[string]bool{}
	for _, b := range inFlight {
		seen[b] = true
	}
	for i := 0; i < 5; i++ {
		if !seen[name(i)] {
			t.Fatalf("in-flight messages after restart: %v, want m00-m04 in any order", inFlight)
		}
	}
}

func BenchmarkProtocolPubSub200(b *testing.B) { benchmarkProtocolPubSub(b, 200) }

// benchmarkProtocolPubSub publishes b.N messages (MPUB batches of 200, one
// in flight) on one connection while another consumes and FINs them with
// RDY 200, with the default --mem-queue-size: whether the channel spills
// to disk and comes back (channel_spill.go) or publishing is paced to
// delivery (channel_pace.go) shows in ns/op, allocs and the disk writes.
func benchmarkProtocolPubSub(b *testing.B, size int) {
	b.ReportAllocs()
	b.SetBytes(int64(size))
	opts := testOptions(b)
	opts.Logger = lg.Nop{}
	opts.LogLevel = lg.ERROR
	n := startNSQD(b, opts)
	tp, _ := n.GetTopic("bench")
	tp.GetChannel("ch")
	const batch = 200
	msgs := make([]string, batch)
	for i := range msgs {
		msgs[i] = string(make([]byte, size))
	}
	cmd := append([]byte("MPUB bench\n"), sized(mpubBody(msgs...))...)
	pub, err := net.Dial("tcp", n.RealTCPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := net.Dial("tcp", n.RealTCPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	b.ResetTimer()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pr := bufio.NewReader(pub)
		pub.Write([]byte("  V2"))
		reply := make([]byte, 10)
		for sent := 0; sent < b.N; sent += batch {
			if _, err := pub.Write(cmd); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(pr, reply); err != nil || string(reply[8:]) != "OK" {
				b.Errorf("MPUB: %q %v", reply, err)
				return
			}
		}
	}()
	consumeAndFin(b, sub, 200, b.N, size)
	wg.Wait()
}

// TestSpillBatchesOneMessagePublishes: once a channel's memory is full and
// nobody consumes, one-message publishes are written to disk a batch at a
// time (--mem-queue-size/8 here), not one write(2) each, and everything
// still arrives in publish order. The daemon runs in this process and the
// publishes are direct calls, so /proc/self/io's count of write calls is
// the disk queue's.
func TestSpillBatchesOneMessagePublishes(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 80 // batches of 10
	n := startNSQD(t, opts)
	tp, err := n.GetTopic("sb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.GetChannel("c"); err != nil {
		t.Fatal(err)
	}
	seq := 0
	pub := func(k int) {
		t.Helper()
		for i := 0; i < k; i++ {
			if err := tp.Publish([][]byte{[]byte(strconv.Itoa(seq))}, 0); err != nil {
				t.Fatal(err)
			}
			seq++
		}
	}
	pub(80) // memory full
	before := writeSyscalls(t)
	pub(200)
	if w := writeSyscalls(t) - before; w > 60 {
		t.Fatalf("%d write calls for 200 one-message publishes past a full memory queue, want batches (about 20)", w)
	}
	if cs := channelStatsOf(t, n, "sb", "c"); cs.Depth != 280 || cs.BackendDepth == 0 || cs.BackendDepth > 200+10 {
		t.Fatalf("depth %d, on disk %d: want 280 in all, at most a batch more than the overflow on disk", cs.Depth, cs.BackendDepth)
	}
	sub := subscribe(t, n, "sb", "c", 20)
	for i := 0; i < 280; i++ {
		m := sub.readMsg()
		if m.body != strconv.Itoa(i) {
			t.Fatalf("delivery %d is %q, want %d (lost or reordered)", i, m.body, i)
		}
		sub.cmd("FIN " + m.id)
	}
}
