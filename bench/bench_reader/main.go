// Command bench_reader consumes a channel from one connection per CPU for
// --runfor, FINishing every message, and prints the throughput, like NSQ's
// bench_reader.
package main

import (
	"flag"
	"fmt"
	"log"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropin/nsq/bench/benchutil"
)

const prefix = "[bench_reader]"

func main() {
	log.SetPrefix(prefix + " ")
	log.SetFlags(log.LstdFlags)
	var (
		addr     = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
		topic    = flag.String("topic", "sub_bench", "topic to receive messages on")
		channel  = flag.String("channel", "ch", "channel to receive messages on")
		size     = flag.Int("size", 200, "size of messages (for the mb/s figure)")
		rdy      = flag.Int("rdy", 2500, "RDY count to use")
		runfor   = flag.Duration("runfor", 10*time.Second, "duration of time to run")
		deadline = flag.String("deadline", "", "deadline to start the benchmark run (UTC, YYYY-MM-DD HH:MM:SS)")
	)
	flag.Parse()
	workers := runtime.GOMAXPROCS(0)
	conns := make([]*benchutil.Conn, workers)
	for i := range conns {
		c, err := benchutil.Dial(*addr, map[string]any{"client_id": "reader", "hostname": "reader", "user_agent": "bench_reader/1.1.0"})
		if err != nil {
			benchutil.Fatal("connect: %s", err)
		}
		c.W.WriteString(fmt.Sprintf("SUB %s %s\n", *topic, *channel))
		c.W.Flush()
		if _, _, err := c.ExpectResponse(); err != nil {
			benchutil.Fatal("SUB: %s", err)
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
			c.SetReadDeadline(start.Add(*runfor))
			fmt.Fprintf(c.W, "RDY %d\n", *rdy)
			c.W.Flush()
			var buf []byte
			window := 0
			fin := []byte("FIN 0123456789abcdef\n")
			for {
				typ, data, err := c.ReadFrame(buf)
				if err != nil {
					break // --runfor elapsed (read deadline) or closed
				}
				buf = data[:cap(data)]
				switch typ {
				case 0:
					if string(data) == "_heartbeat_" {
						c.W.WriteString("NOP\n")
						c.W.Flush()
					}
					continue
				case 1:
					benchutil.Fatal("server error: %s", data)
				}
				copy(fin[4:20], data[10:26])
				c.W.Write(fin)
				total.Add(1)
				window++
				if window >= *rdy {
					window = 0
				}
				if float64(window) > 0.75*float64(*rdy) {
					c.W.Flush()
				}
			}
			c.Close()
		}(c)
	}
	wg.Wait()
	benchutil.Report(time.Since(start), total.Load(), *size)
}
