package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"sync/atomic"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
)

// printer writes message bodies as lines. Unlike NSQ, whose per-topic
// handlers write concurrently and can interleave the pieces of two lines,
// it writes each line whole (a deliberate fix).
type printer struct {
	mu         sync.Mutex // guards out
	out        io.Writer
	printTopic bool
}

// print writes "<body>\n", or "<topic> | <body>\n" with --print-topic.
// Bodies are not escaped: embedded newlines pass through.
func (p *printer) print(topic string, body []byte) error {
	line := make([]byte, 0, len(topic)+len(body)+4)
	if p.printTopic {
		line = append(line, topic...)
		line = append(line, " | "...)
	}
	line = append(line, body...)
	line = append(line, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.out.Write(line)
	return err
}

// errLimitReached ends the run once a topic has printed -n messages.
var errLimitReached = errors.New("message limit reached")

// tailHandler prints one topic's messages and counts them against -n.
type tailHandler struct {
	topic string
	p     *printer
	limit int64 // 0 = no limit
	count atomic.Int64
	// finish reports the end of the run (errLimitReached or a write
	// error); it must not block.
	finish func(error)
}

// HandleMessage implements nsq.Handler. The message that reaches the
// limit, and any message that could not be written, is left unanswered:
// like NSQ, nsq_tail exits at once and leaves it to time out. Messages
// that arrive for this topic while the process is exiting are neither
// printed nor answered.
func (h *tailHandler) HandleMessage(m *nsq.Message) error {
	var n int64
	if h.limit > 0 {
		if n = h.count.Add(1); n > h.limit {
			m.DisableAutoResponse()
			return nil
		}
	}
	if err := h.p.print(h.topic, m.Body); err != nil {
		m.DisableAutoResponse()
		h.finish(fmt.Errorf("ERROR: failed to write to os.Stdout - %w", err))
		return nil
	}
	if h.limit > 0 && n == h.limit {
		m.DisableAutoResponse()
		h.finish(errLimitReached)
	}
	return nil
}

// run is nsq_tail: argv are the program name and flags; it returns the
// exit status.
func run(argv []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	o, logger, code, ok := clientapp.Setup(appName, argv, stdout, stderr, parseArgs)
	if !ok {
		return code
	}

	ended := make(chan error, 1)
	finish := func(err error) {
		select {
		case ended <- err:
		default:
		}
	}
	p := &printer{out: stdout, printTopic: o.printTopic}
	consumers := make([]*nsq.Consumer, 0, len(o.topics))
	for _, topic := range o.topics {
		logger.Printf("Adding consumer for topic: %s", topic)
		c, err := nsq.NewConsumer(topic, o.channel, o.consumer)
		if err != nil {
			logger.Print(err)
			return 1
		}
		c.SetLogger(log.New(stderr, "", log.LstdFlags), nsq.LogLevelInfo)
		c.AddHandler(&tailHandler{topic: topic, p: p, limit: int64(o.totalMessages), finish: finish})
		if err := clientapp.Connect(c, o.nsqdTCP, o.lookupdHTTP); err != nil {
			logger.Print(err)
			return 1
		}
		consumers = append(consumers, c)
	}

	select {
	case err := <-ended:
		if errors.Is(err, errLimitReached) {
			return 0
		}
		logger.Print(err)
		return 1
	case <-sigs:
	}
	for _, c := range consumers {
		c.Stop()
	}
	for _, c := range consumers {
		<-c.StopChan
	}
	return 0
}
