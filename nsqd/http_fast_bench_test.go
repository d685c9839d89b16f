package nsqd

import (
	"bufio"
	"bytes"
	"strconv"
	"testing"
	"time"
)

func BenchmarkHTTPPubSocketFast200(b *testing.B)    { benchmarkHTTPPubSocket(b, 200, true) }
func BenchmarkHTTPPubSocketNetHTTP200(b *testing.B) { benchmarkHTTPPubSocket(b, 200, false) }

// benchmarkHTTPPubSocket sends POST /pub one request at a time over one
// loopback keep-alive connection, as the httppub workload does, through
// the fast path or (fast false) net/http; allocations are the whole
// process's, the server's included.
func benchmarkHTTPPubSocket(b *testing.B, size int, fast bool) {
	b.ReportAllocs()
	b.SetBytes(int64(size))
	n := startNSQD(b, benchOptions(b))
	f := startFast(b, n, nil)
	c := dialRawHTTP(b, f.Addr().String())
	c.c.SetDeadline(time.Time{})
	if !fast {
		c.send(pingReq)
		c.reply()
	}
	req := []byte(postReq("/pub?topic=bench", string(bytes.Repeat([]byte("a"), size)), "User-Agent: bench/1"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := skipReply(c.br); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if served := f.served.Load(); fast != (served >= int64(b.N)) {
		b.Fatalf("fast path served %d of %d", served, b.N)
	}
}

// skipReply reads one reply with a Content-Length and no other framing.
func skipReply(br *bufio.Reader) error {
	clen := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			clen, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	_, err := br.Discard(clen)
	return err
}

func BenchmarkParseFastHead(b *testing.B) {
	b.ReportAllocs()
	head := []byte("POST /pub?topic=bench HTTP/1.1\r\nHost: 127.0.0.1:4151\r\nUser-Agent: nsqbench/1\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Length: 200\r\n\r\n")
	b.SetBytes(int64(len(head)))
	for i := 0; i < b.N; i++ {
		scanned := 0
		end := scanHead(head, &scanned)
		if _, ok := parseFastHead(head[:end]); !ok {
			b.Fatal("not accepted")
		}
	}
}
