// Command bench_writer publishes MPUB batches from one connection per CPU
// for --runfor and prints the throughput, like NSQ's bench_writer.
package main

import (
	"encoding/binary"
	"flag"
	"log"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/bench/benchutil"
)

const prefix = "[bench_writer]"

func main() {
	log.SetPrefix(prefix + " ")
	var (
		addr      = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
		topic     = flag.String("topic", "sub_bench", "topic to receive messages on")
		size      = flag.Int("size", 200, "size of messages")
		batchSize = flag.Int("batch-size", 200, "batch size of messages")
		runfor    = flag.Duration("runfor", 10*time.Second, "duration of time to run")
		deadline  = flag.String("deadline", "", "deadline to start the benchmark run (UTC, YYYY-MM-DD HH:MM:SS)")
	)
	flag.Parse()
	if *size < 1 || *batchSize < 1 {
		benchutil.Fatal("--size and --batch-size must be > 0")
	}
	body := mpubBody(*size, *batchSize)
	workers := runtime.GOMAXPROCS(0)
	conns := make([]*benchutil.Conn, workers)
	for i := range conns {
		c, err := benchutil.Dial(*addr, map[string]any{"client_id": "writer", "hostname": "writer", "user_agent": "bench_writer/1.1.0"})
		if err != nil {
			benchutil.Fatal("connect: %s", err)
		}
		conns[i] = c
	}
	benchutil.WaitDeadline(*deadline)
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range conns {
		wg.Add(1)
		go func(c *benchutil.Conn) {
			defer wg.Done()
			cmd := []byte("MPUB " + *topic + "\n")
			for time.Since(start) < *runfor {
				c.W.Write(cmd)
				c.WriteBody(body)
				if err := c.W.Flush(); err != nil {
					benchutil.Fatal("write: %s", err)
				}
				if _, _, err := c.ExpectResponse(); err != nil {
					benchutil.Fatal("MPUB: %s", err)
				}
				total.Add(int64(*batchSize))
			}
		}(c)
	}
	wg.Wait()
	benchutil.Report(time.Since(start), total.Load(), *size)
}

// mpubBody is one MPUB body of n zero-filled messages of size bytes.
func mpubBody(size, n int) []byte {
	b := make([]byte, 0, 4+n*(4+size))
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	msg := make([]byte, size)
	for i := 0; i < n; i++ {
		b = binary.BigEndian.AppendUint32(b, uint32(size))
		b = append(b, msg...)
	}
	return b
}
