package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/dropin/nsq/bench/benchutil"
	"github.com/dropin/nsq/internal/protocol"
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
	subscribe := func(c *benchutil.Conn) error {
		fmt.Fprintf(c.W, "SUB %s %s\n", *topic, *channel)
		c.W.Flush()
		if _, _, err := c.ExpectResponse(); err != nil {
			return fmt.Errorf("SUB: %w", err)
		}
		return nil
	}
	conns := benchutil.DialPerCPU(*addr, map[string]any{"client_id": "reader", "hostname": "reader", "user_agent": "bench_reader/1.1.0"}, subscribe)
	benchutil.Measure(conns, *deadline, *size, func(c *benchutil.Conn, start time.Time) int64 {
		defer c.Close()
		c.SetReadDeadline(start.Add(*runfor))
		fmt.Fprintf(c.W, "RDY %d\n", *rdy)
		c.W.Flush()
		var msgs int64
		var buf []byte
		window := 0
		fin := []byte("FIN 0123456789abcdef\n")
		for {
			typ, data, err := c.ReadFrame(buf)
			if err != nil {
				return msgs // --runfor elapsed (read deadline) or closed
			}
			buf = data[:cap(data)]
			switch typ {
			case protocol.FrameTypeResponse:
				if bytes.Equal(data, protocol.Heartbeat) {
					c.W.WriteString("NOP\n")
					c.W.Flush()
				}
				continue
			case protocol.FrameTypeError:
				benchutil.Fatal("server error: %s", data)
			}
			copy(fin[4:20], data[10:26])
			c.W.Write(fin)
			msgs++
			window++
			if window >= *rdy {
				window = 0
			}
			if float64(window) > 0.75*float64(*rdy) {
				c.W.Flush()
			}
		}
	})
}
