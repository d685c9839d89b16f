package nsqd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/dropin/nsq/internal/lg"
)

func benchOptions(b *testing.B) *Options {
	opts := testOptions(b)
	opts.Logger = lg.Nop{}
	opts.LogLevel = lg.ERROR
	opts.MemQueueSize = int64(b.N) + 1
	return opts
}

func BenchmarkProtocolPub16(b *testing.B)  { benchmarkProtocolPub(b, 16) }
func BenchmarkProtocolPub256(b *testing.B) { benchmarkProtocolPub(b, 256) }
func BenchmarkProtocolPub4k(b *testing.B)  { benchmarkProtocolPub(b, 4096) }

// benchmarkProtocolPub pipelines PUBs on one connection and reads the OKs
// on another goroutine.
func benchmarkProtocolPub(b *testing.B, size int) {
	b.ReportAllocs()
	b.SetBytes(int64(size))
	n := startNSQD(b, benchOptions(b))
	conn, err := net.Dial("tcp", n.RealTCPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	cmd := append([]byte("PUB bench\n"), sized(make([]byte, size))...)
	w := bufio.NewWriterSize(conn, 64*1024)
	w.WriteString("  V2")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := bufio.NewReaderSize(conn, 64*1024)
		buf := make([]byte, 10)
		for i := 0; i < b.N; i++ {
			if _, err := io.ReadFull(r, buf); err != nil || string(buf[8:]) != "OK" {
				b.Errorf("reply %d: %q %v", i, buf, err)
				return
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Write(cmd)
	}
	w.Flush()
	wg.Wait()
}

func BenchmarkProtocolMPub256(b *testing.B) { benchmarkProtocolMPub(b, 256, 100) }

func benchmarkProtocolMPub(b *testing.B, size, batch int) {
	b.ReportAllocs()
	b.SetBytes(int64(size * batch))
	n := startNSQD(b, benchOptions(b))
	opts := n.opts
	opts.MemQueueSize = int64(b.N*batch) + 1
	n.env.memQueueSize = int(opts.MemQueueSize)
	c := dial(b, n)
	msgs := make([]string, batch)
	for i := range msgs {
		msgs[i] = string(make([]byte, size))
	}
	cmd := append([]byte("MPUB bench\n"), sized(mpubBody(msgs...))...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.send(cmd)
		f, err := c.readFrameHB(false)
		if err != nil || string(f.data) != "OK" {
			b.Fatalf("MPUB: %s %v", f, err)
		}
	}
}

func BenchmarkProtocolSub256(b *testing.B) { benchmarkProtocolSub(b, 256) }

// benchmarkProtocolSub fills a channel with b.N messages, then consumes
// and FINs them all over one connection with RDY 2500.
func benchmarkProtocolSub(b *testing.B, size int) {
	b.ReportAllocs()
	b.SetBytes(int64(size))
	n := startNSQD(b, benchOptions(b))
	t, _ := n.GetTopic("bench")
	t.GetChannel("ch")
	body := make([]byte, size)
	const batch = 1000
	bodies := make([][]byte, batch)
	for i := range bodies {
		bodies[i] = body
	}
	for left := b.N; left > 0; left -= batch {
		k := batch
		if left < batch {
			k = left
		}
		if err := t.Publish(bodies[:k], 0); err != nil {
			b.Fatal(err)
		}
	}
	conn, err := net.Dial("tcp", n.RealTCPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ResetTimer()
	consumeAndFin(b, conn, 2500, b.N, size)
}

func BenchmarkTopicPublish1Channel(b *testing.B)  { benchmarkTopicPublish(b, 1) }
func BenchmarkTopicPublish4Channels(b *testing.B) { benchmarkTopicPublish(b, 4) }

// benchmarkTopicPublish measures in-process fan-out into channels.
func benchmarkTopicPublish(b *testing.B, channels int) {
	b.ReportAllocs()
	n := startNSQD(b, benchOptions(b))
	t, _ := n.GetTopic("bench")
	for i := 0; i < channels; i++ {
		t.GetChannel(fmt.Sprint("ch", i))
	}
	body := [][]byte{make([]byte, 256)}
	b.SetBytes(256)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := t.Publish(body, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTopicPublishOverflow200(b *testing.B) { benchmarkTopicPublishOverflow(b, 200) }
func BenchmarkTopicPublishOverflow1(b *testing.B)   { benchmarkTopicPublishOverflow(b, 1) }

// benchmarkTopicPublishOverflow measures a publish with default
// --mem-queue-size once the channel's memory is full: every message goes
// to the disk queue (one batch write per publish). ns/op is per message.
func benchmarkTopicPublishOverflow(b *testing.B, batch int) {
	b.ReportAllocs()
	opts := benchOptions(b)
	opts.MemQueueSize = 10000
	n := startNSQD(b, opts)
	t, _ := n.GetTopic("bench")
	t.GetChannel("ch")
	bodies := make([][]byte, batch)
	for i := range bodies {
		bodies[i] = make([]byte, 200)
	}
	for i := 0; i < 10000/batch+1; i++ { // fill memory
		t.Publish(bodies, 0)
	}
	b.SetBytes(200)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		if err := t.Publish(bodies[:min(batch, b.N-i)], 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTTPPub200(b *testing.B) { benchmarkHTTPPub(b, 200) }

// benchmarkHTTPPub runs POST /pub through nsqd's HTTP handler (router,
// decorators, body read, publish into a channel's memory, V1 reply)
// without sockets: what our code costs per request on top of net/http.
func benchmarkHTTPPub(b *testing.B, size int) {
	b.ReportAllocs()
	b.SetBytes(int64(size))
	n := startNSQD(b, benchOptions(b))
	h := newHTTPServer(n, false)
	body := make([]byte, size)
	for i := range body {
		body[i] = 'a'
	}
	if _, err := n.GetTopic("bench"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/pub?topic=bench", bytes.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("POST /pub: %d %s", w.Code, w.Body)
		}
	}
}

// consumeAndFin subscribes conn to bench/ch with RDY rdy, then reads n
// messages of size bytes, answering each with a FIN (flushed whenever
// nothing more is buffered).
func consumeAndFin(b *testing.B, conn net.Conn, rdy, n, size int) {
	r := bufio.NewReaderSize(conn, 64*1024)
	w := bufio.NewWriterSize(conn, 4096)
	fmt.Fprintf(w, "  V2SUB bench ch\nRDY %d\n", rdy)
	w.Flush()
	var hdr [8]byte
	frame := make([]byte, 0, size+64)
	fin := []byte("FIN 0123456789abcdef\n")
	for got := 0; got < n; {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			b.Fatal(err)
		}
		data := frame[:binary.BigEndian.Uint32(hdr[:4])-4]
		if _, err := io.ReadFull(r, data); err != nil {
			b.Fatal(err)
		}
		if binary.BigEndian.Uint32(hdr[4:]) != 2 {
			continue
		}
		copy(fin[4:20], data[10:26])
		w.Write(fin)
		got++
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
	w.Flush()
}
