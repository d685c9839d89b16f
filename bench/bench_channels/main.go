package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dropin/nsq/bench/benchutil"
	"github.com/dropin/nsq/internal/protocol"
)

const prefix = "[bench_channels]"

func main() {
	log.SetPrefix(prefix + " ")
	log.SetFlags(log.LstdFlags)
	var (
		addr = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
		num  = flag.Int("num", 10000, "number of connections (and topics)")
	)
	flag.Parse()
	if *num < 1 {
		benchutil.Fatal("--num must be > 0")
	}
	conns := make([]*benchutil.Conn, 0, *num)
	for j := 0; j < *num; j++ {
		c, err := benchutil.Dial(*addr, map[string]any{"client_id": "test"})
		if err != nil {
			benchutil.Fatal("connect %d: %s", j, err)
		}
		fmt.Fprintf(c.W, "SUB t%d ch\n", j)
		c.W.Flush()
		if _, _, err := c.ExpectResponse(); err != nil {
			benchutil.Fatal("SUB t%d: %s", j, err)
		}
		conns = append(conns, c)
		time.Sleep(5 * time.Millisecond)
	}
	for _, c := range conns {
		go serve(c)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

// serve answers heartbeats with NOP and messages with FIN then RDY 1.
func serve(c *benchutil.Conn) {
	c.W.WriteString("RDY 1\n")
	c.W.Flush()
	for {
		typ, data, err := c.ReadFrame(nil)
		if err != nil {
			benchutil.Fatal("read: %s", err)
		}
		switch typ {
		case protocol.FrameTypeResponse:
			c.W.WriteString("NOP\n")
		case protocol.FrameTypeError:
			benchutil.Fatal("server error: %s", data)
		case protocol.FrameTypeMessage:
			fmt.Fprintf(c.W, "FIN %s\nRDY 1\n", data[10:26])
		}
		c.W.Flush()
	}
}
