package main

import (
	"flag"
	"log"
	"time"

	"github.com/dropin/nsq/bench/benchutil"
	"github.com/dropin/nsq/internal/protocol"
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
	conns := benchutil.DialPerCPU(*addr, map[string]any{"client_id": "writer", "hostname": "writer", "user_agent": "bench_writer/1.1.0"}, nil)
	cmd := []byte("MPUB " + *topic + "\n")
	benchutil.Measure(conns, *deadline, *size, func(c *benchutil.Conn, start time.Time) int64 {
		var msgs int64
		for time.Since(start) < *runfor {
			c.W.Write(cmd)
			c.WriteBody(body)
			if err := c.W.Flush(); err != nil {
				benchutil.Fatal("write: %s", err)
			}
			if _, _, err := c.ExpectResponse(); err != nil {
				benchutil.Fatal("MPUB: %s", err)
			}
			msgs += int64(*batchSize)
		}
		return msgs
	})
}

// mpubBody is one MPUB body of n zero-filled messages of size bytes.
func mpubBody(size, n int) []byte {
	msgs := make([][]byte, n)
	msg := make([]byte, size)
	for i := range msgs {
		msgs[i] = msg
	}
	return protocol.AppendMPUB(make([]byte, 0, 4+n*(4+size)), msgs...)
}
