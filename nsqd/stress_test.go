package nsqd

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestConcurrentDelivery runs producers and consumers at once, with
// consumers that FIN, requeue, defer or ignore messages at random, on a
// channel whose memory queue is tiny so the disk path is busy too. Every
// message must reach every channel at least once and leave nothing behind.
func TestConcurrentDelivery(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 10
	opts.QueueScanInterval = 10 * time.Millisecond
	opts.LogLevel = 3
	n := startNSQD(t, opts)
	const producers, perProducer = 4, 300
	channels := []string{"a", "b"}
	httpDo(t, n, "POST", "/topic/create?topic=stress", "")
	for _, ch := range channels {
		httpDo(t, n, "POST", "/channel/create?topic=stress&channel="+ch, "")
	}

	var mu sync.Mutex
	seen := map[string]map[string]bool{}
	for _, ch := range channels {
		seen[ch] = map[string]bool{}
	}
	total := producers * perProducer
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, ch := range channels {
		for i := 0; i < 3; i++ {
			c := dial(t, n)
			c.identify(map[string]any{"msg_timeout": 1000})
			c.cmd("SUB stress " + ch)
			c.expectOK()
			c.cmd("RDY 20")
			wg.Add(1)
			go func(ch string, c *testConn) {
				defer wg.Done()
				for {
					f, err := c.readFrameHB(false)
					if err != nil {
						return
					}
					if f.typ != 2 {
						continue
					}
					id, body := string(f.data[10:26]), string(f.data[26:])
					var reply string
					switch r := rand.IntN(100); {
					case r < 85:
						mu.Lock()
						seen[ch][body] = true
						mu.Unlock()
						reply = "FIN " + id
					case r < 93:
						reply = "REQ " + id + " 0"
					case r < 98:
						reply = "REQ " + id + " 30"
					default:
						continue // let it time out
					}
					if _, err := c.conn.Write([]byte(reply + "\n")); err != nil {
						return
					}
				}
			}(ch, c)
		}
	}
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			c := dial(t, n)
			for i := 0; i < perProducer; {
				if i%3 == 0 {
					c.cmd("PUB stress", []byte(fmt.Sprintf("%d-%d", p, i)))
					i++
				} else {
					var bodies []string
					for k := 0; k < 10 && i < perProducer; k++ {
						bodies = append(bodies, fmt.Sprintf("%d-%d", p, i))
						i++
					}
					c.cmd("MPUB stress", mpubBody(bodies...))
				}
				if f, err := c.readFrameHB(false); err != nil || string(f.data) != "OK" {
					t.Errorf("publish: %s %v", f, err)
					return
				}
			}
		}(p)
	}
	go func() {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			complete := len(seen["a"]) == total && len(seen["b"]) == total
			mu.Unlock()
			if complete {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(done)
	}()
	<-done
	mu.Lock()
	gotA, gotB := len(seen["a"]), len(seen["b"])
	mu.Unlock()
	if gotA != total || gotB != total {
		t.Fatalf("finished %d and %d of %d messages", gotA, gotB, total)
	}
	eventually(t, func() bool {
		for _, ch := range channels {
			cs := channelStatsOf(t, n, "stress", ch)
			if cs.Depth != 0 || cs.InFlightCount != 0 || cs.DeferredCount != 0 {
				return false
			}
		}
		return true
	}, "channels end empty")
}
