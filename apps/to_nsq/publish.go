package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
)

// readRecords calls fn with each non-empty record of r, split at delim
// (the delimiter itself is not passed on). A final record without a
// trailing delimiter is passed whole: NSQ's to_nsq drops its last byte,
// a data-losing quirk we deliberately fix. fn's error stops the reading.
func readRecords(r io.Reader, delim byte, fn func([]byte) error) error {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		rec, err := br.ReadBytes(delim)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read stdin: %w", err)
		}
		rec = bytes.TrimSuffix(rec, []byte{delim})
		if len(rec) > 0 {
			if ferr := fn(rec); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil // EOF
		}
	}
}

// limiter is a token bucket of `capacity` tokens refilled one per
// interval, starting with one token. Not safe for concurrent use.
type limiter struct {
	interval time.Duration
	capacity float64
	tokens   float64
	last     time.Time
}

// newLimiter allows rate records per second, in bursts of up to rate.
func newLimiter(rate int64, now time.Time) *limiter {
	return &limiter{interval: time.Second / time.Duration(rate), capacity: float64(rate), tokens: 1, last: now}
}

// reserve takes a token at time now and returns how long to wait before
// using it (0 when one was available).
func (l *limiter) reserve(now time.Time) time.Duration {
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(l.capacity, l.tokens+float64(elapsed)/float64(l.interval))
		l.last = now
	}
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens * float64(l.interval))
}

// publisher sends each record synchronously to every producer in turn
// (to_nsq fans out rather than balancing).
type publisher struct {
	topic     string
	producers []*nsq.Producer
	limit     *limiter // nil when --rate is off
	sleep     func(time.Duration)
}

func (p *publisher) publish(rec []byte) error {
	if p.limit != nil {
		if d := p.limit.reserve(time.Now()); d > 0 {
			p.sleep(d)
		}
	}
	for _, w := range p.producers {
		if err := w.Publish(p.topic, rec); err != nil {
			return fmt.Errorf("failed to publish to %s - %w", w, err)
		}
	}
	return nil
}

// run is to_nsq: argv are the program name and flags; it returns the exit
// status.
func run(argv []string, stdin io.Reader, stderr io.Writer, sigs <-chan os.Signal) int {
	o, logger, code, ok := clientapp.Setup(appName, argv, io.Discard, stderr, parseArgs)
	if !ok {
		return code
	}

	p := &publisher{topic: o.topic, sleep: time.Sleep}
	defer func() {
		for _, w := range p.producers {
			w.Stop()
		}
	}()
	for _, addr := range o.addresses() {
		w, err := nsq.NewProducer(addr, o.producer)
		if err != nil {
			logger.Printf("failed to create nsq.Producer - %s", err)
			return 1
		}
		w.SetLogger(log.New(stderr, "", log.LstdFlags), nsq.LogLevelInfo)
		p.producers = append(p.producers, w)
	}
	if o.rate > 0 {
		logger.Printf("Throttling messages rate to max:%d/second", o.rate)
		p.limit = newLimiter(o.rate, time.Now())
	}

	done := make(chan error, 1)
	go func() { done <- readRecords(stdin, o.delimiter[0], p.publish) }()
	select {
	case err := <-done:
		if err != nil {
			logger.Print(err)
			return 1
		}
	case <-sigs:
		// Unread stdin is dropped, as in NSQ.
	}
	return 0
}
