package replication

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// load is a run's producers: three over TCP and three over HTTP, each
// journaling every OK in ack; used by the crash loop and the partition
// test.
type load struct {
	ack  acked
	stop chan struct{}
	wg   sync.WaitGroup
}

// loadHomeStay is how many OKs a publisher with a home node collects
// elsewhere after a failure before it tries home again.
const loadHomeStay = 50

// startLoad starts publishing to topic on c's nodes. With home < 0,
// publisher w starts at node w (TCP) or w+1 (HTTP) and moves on to the
// next node after each failure (the crash loop). With home >= 0 every
// publisher starts at node home, moves on after a failure and returns
// home after loadHomeStay OKs elsewhere, so most of the load goes to
// home's group.
func startLoad(c *cluster, topic string, home int) *load {
	l := &load{stop: make(chan struct{})}
	for w := 0; w < 3; w++ {
		tcpStart, httpStart := w, w+1
		if home >= 0 {
			tcpStart, httpStart = home, home
		}
		// the addresses of the nodes at the start: a test may add nodes
		// to c while this runs
		ps := make([]*pubConn, len(c.nodes))
		https := make([]string, len(c.nodes))
		for i, n := range c.nodes {
			ps[i], https[i] = &pubConn{addr: n.tcp}, n.http
		}
		l.wg.Add(2)
		go l.publisher(fmt.Sprintf("tcp%d", w), tcpStart, home, len(ps), func(at int, body []byte) error {
			return ps[at%len(ps)].pub(topic, body)
		}, func() {
			for _, p := range ps {
				p.close()
			}
		}, &l.ack.tcp)
		go l.publisher(fmt.Sprintf("http%d", w), httpStart, home, len(https), func(at int, body []byte) error {
			_, err := httpPub(https[at%len(https)], topic, body)
			return err
		}, func() {}, &l.ack.http)
	}
	return l
}

// publisher publishes name-0, name-1, ... with pub until l stops.
func (l *load) publisher(name string, at, home, nodes int, pub func(at int, body []byte) error, done func(), count interface{ Add(int64) int64 }) {
	defer l.wg.Done()
	defer done()
	away := 0 // OKs since leaving home
	for k := 0; ; k++ {
		select {
		case <-l.stop:
			return
		default:
		}
		body := fmt.Sprintf("%s-%d", name, k)
		if err := pub(at, []byte(body)); err != nil {
			l.ack.failed.Add(1)
			at++
			away = 0
			time.Sleep(50 * time.Millisecond)
			continue
		}
		l.ack.add(body)
		count.Add(1)
		if home >= 0 && at%nodes != home {
			if away++; away >= loadHomeStay {
				at, away = home, 0
			}
		}
	}
}

// finish stops the publishers, waits for them and returns every
// acknowledged body.
func (l *load) finish(t testing.TB) []string {
	close(l.stop)
	l.wg.Wait()
	return l.ack.list()
}
