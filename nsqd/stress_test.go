package nsqd

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/protocol"
)

// TestConcurrentDelivery runs producers and consumers at once, with
// consumers that FIN, requeue, defer or ignore messages at random, on a
// channel whose memory queue is tiny so the disk path is busy too. Beside
// them the topic and its channels are paused and unpaused, a third channel
// is emptied, deleted and recreated under its own consumers, and a second
// topic is published to and deleted. Every message must reach channels a
// and b at least once, and every goroutine must end.
func TestConcurrentDelivery(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 10
	opts.QueueScanInterval = 10 * time.Millisecond
	opts.LogLevel = 3
	n := startNSQD(t, opts)
	const producers, perProducer = 4, 300
	total := producers * perProducer
	kept := []string{"a", "b"} // channels that must see every message
	httpDo(t, n, "POST", "/topic/create?topic=stress", "")
	for _, ch := range append(kept, "x") {
		httpDo(t, n, "POST", "/channel/create?topic=stress&channel="+ch, "")
	}

	var (
		mu   sync.Mutex // guards seen
		seen = map[string]map[string]bool{}
		errs = make(chan error, 100) // from the goroutines, reported by the test
		stop = make(chan struct{})   // ends the chaos and the consumers of x and the other topic
		wg   sync.WaitGroup
	)
	var chaosSteps atomic.Int64
	var stopOnce sync.Once
	end := func() { stopOnce.Do(func() { close(stop) }) }
	for _, ch := range kept {
		seen[ch] = map[string]bool{}
	}
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var consumers []net.Conn // closed at the end, which ends their loops
	defer func() {
		// however the test ends, every goroutine ends before it
		end()
		for _, c := range consumers {
			c.Close()
		}
		waited := make(chan struct{})
		go func() { wg.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(30 * time.Second):
			t.Error("goroutines still running 30 s after the end")
			return // they may still report: errs stays open
		}
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}()
	for _, ch := range kept {
		for i := 0; i < 3; i++ {
			c := dial(t, n)
			c.identify(map[string]any{"msg_timeout": 1000})
			c.cmd("SUB stress " + ch)
			c.expectOK()
			c.cmd("RDY 20")
			consumers = append(consumers, c.conn)
			wg.Add(1)
			go func() {
				defer wg.Done()
				consume(c, func(body string) {
					mu.Lock()
					seen[ch][body] = true
					mu.Unlock()
				})
			}()
		}
	}
	// consumers of the channel that is emptied and deleted, and of the
	// topic that is deleted: resubscribe whenever nsqd drops them
	for _, target := range []string{"stress x", "other c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), ioWait)
				if err != nil {
					report(fmt.Errorf("dial for %s: %w", target, err))
					return
				}
				c := &testConn{tb: t, conn: conn, r: newReader(conn)}
				done := make(chan struct{})
				go func() {
					select {
					case <-stop:
					case <-done:
					}
					conn.Close()
				}()
				if _, err := conn.Write([]byte(protocol.MagicV2 + "SUB " + target + "\nRDY 5\n")); err == nil {
					consume(c, nil)
				}
				close(done)
			}
		}()
	}
	for p := 0; p < producers; p++ {
		c := dial(t, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := produce(c, "stress", p, perProducer); err != nil {
				report(fmt.Errorf("producer %d: %w", p, err))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// a PUB racing the topic's delete may be refused; then redial
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), ioWait)
			if err != nil {
				report(fmt.Errorf("dial for the deleted topic: %w", err))
				return
			}
			conn.Write([]byte(protocol.MagicV2))
			err = produce(&testConn{tb: t, conn: conn, r: newReader(conn)}, "other", i, 10)
			conn.Close()
			if err != nil && !strings.Contains(err.Error(), "PUB_FAILED") {
				report(fmt.Errorf("producer of the deleted topic: %w", err))
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		chaos(n, stop, report, &chaosSteps)
	}()

	complete := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen["a"]) == total && len(seen["b"]) == total
	}
	const chaosRounds = 3 // each step at least this often before the end
	deadline := time.Now().Add(60 * time.Second)
	for !(complete() && chaosSteps.Load() >= chaosRounds*int64(len(chaosPaths))) && time.Now().Before(deadline) {
		select {
		case err := <-errs:
			t.Fatal(err) // the deferred shutdown reports the rest
		case <-time.After(20 * time.Millisecond):
		}
	}
	end()
	mu.Lock()
	gotA, gotB := len(seen["a"]), len(seen["b"])
	mu.Unlock()
	if gotA != total || gotB != total {
		t.Errorf("finished %d and %d of %d messages", gotA, gotB, total)
	}
	if got := chaosSteps.Load(); got < chaosRounds*int64(len(chaosPaths)) {
		t.Errorf("only %d pause/empty/delete steps ran", got)
	}
	// the chaos may have left things paused: undo that, then the kept
	// channels must drain and x must empty
	httpDo(t, n, "POST", "/topic/unpause?topic=stress", "")
	for _, ch := range kept {
		httpDo(t, n, "POST", "/channel/unpause?topic=stress&channel="+ch, "")
	}
	eventually(t, func() bool {
		for _, ch := range kept {
			cs := channelStatsOf(t, n, "stress", ch)
			if cs.Depth != 0 || cs.InFlightCount != 0 || cs.DeferredCount != 0 {
				return false
			}
		}
		return true
	}, "channels a and b end empty")
	if code, body, _ := httpDo(t, n, "POST", "/channel/create?topic=stress&channel=x", ""); code != 200 {
		t.Fatalf("recreate x: %d %s", code, body)
	}
	if code, body, _ := httpDo(t, n, "POST", "/channel/empty?topic=stress&channel=x", ""); code != 200 {
		t.Fatalf("empty x: %d %s", code, body)
	}
	if cs := channelStatsOf(t, n, "stress", "x"); cs.Depth != 0 || cs.InFlightCount != 0 || cs.DeferredCount != 0 {
		t.Errorf("x after empty: %+v", cs)
	}
}

// consume reads messages until the connection ends and answers each at
// random: FIN (calling fin with the body, if not nil), REQ now, REQ later
// or nothing (it times out). It never touches the test: errors end it.
func consume(c *testConn, fin func(body string)) {
	for {
		f, err := c.readFrameHB(false)
		if err != nil {
			return
		}
		if f.typ != protocol.FrameTypeMessage {
			continue // OK, and E_FIN_FAILED after an empty or timeout
		}
		id, body := string(f.data[10:26]), string(f.data[26:])
		var reply string
		switch r := rand.IntN(100); {
		case r < 85:
			if fin != nil {
				fin(body)
			}
			reply = "FIN " + id
		case r < 93:
			reply = "REQ " + id + " 0"
		case r < 98:
			reply = "REQ " + id + " 30"
		default:
			continue // let it time out
		}
		c.conn.SetWriteDeadline(time.Now().Add(ioWait))
		if _, err := c.conn.Write([]byte(reply + "\n")); err != nil {
			return
		}
	}
}

// produce publishes count messages "p-i" to topic, a third with PUB and the
// rest in MPUBs of up to ten, waiting for each OK.
func produce(c *testConn, topic string, p, count int) error {
	for i := 0; i < count; {
		var b []byte
		if i%3 == 0 {
			b = append([]byte("PUB "+topic+"\n"), sized([]byte(fmt.Sprintf("%d-%d", p, i)))...)
			i++
		} else {
			var bodies []string
			for k := 0; k < 10 && i < count; k++ {
				bodies = append(bodies, fmt.Sprintf("%d-%d", p, i))
				i++
			}
			b = append([]byte("MPUB "+topic+"\n"), sized(mpubBody(bodies...))...)
		}
		c.conn.SetWriteDeadline(time.Now().Add(ioWait))
		if _, err := c.conn.Write(b); err != nil {
			return err
		}
		f, err := c.readFrameHB(false)
		if err != nil {
			return err
		}
		if f.typ != protocol.FrameTypeResponse || string(f.data) != "OK" {
			return fmt.Errorf("publish: %s", f)
		}
	}
	return nil
}

// chaos pauses and unpauses the topic "stress" and its channels a and b,
// empties, deletes and recreates its channel x, and deletes the topic
// "other", until stop is closed. Pausing loses nothing; the rest touches
// only x and "other".
func chaos(n *NSQD, stop <-chan struct{}, report func(error), done *atomic.Int64) {
	client := &httpClient{addr: n.RealHTTPAddr().String()}
	steps := chaosPaths
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
		}
		path := steps[i%len(steps)]
		code, err := client.post(path)
		// x and "other" may be gone (deleted, not yet recreated)
		if err != nil || code != 200 && code != 404 {
			report(fmt.Errorf("POST %s: %d %v", path, code, err))
			return
		}
		done.Add(1)
	}
}

// chaosPaths are the HTTP calls chaos makes, in turn.
var chaosPaths = []string{
	"/topic/pause?topic=stress", "/topic/unpause?topic=stress",
	"/channel/pause?topic=stress&channel=a", "/channel/unpause?topic=stress&channel=a",
	"/channel/pause?topic=stress&channel=b", "/channel/unpause?topic=stress&channel=b",
	"/channel/empty?topic=stress&channel=x",
	"/channel/delete?topic=stress&channel=x", "/channel/create?topic=stress&channel=x",
	"/topic/delete?topic=other",
}

var httpPostClient = &http.Client{Timeout: ioWait}

// httpClient posts to nsqd from a goroutine without a testing.TB.
type httpClient struct{ addr string }

func (h *httpClient) post(path string) (int, error) {
	resp, err := httpPostClient.Post("http://"+h.addr+path, "", nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
