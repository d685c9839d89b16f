package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dropin/nsq/internal/clientapp"
	"github.com/dropin/nsq/internal/httpapi"
)

// headerEvery is how many polls (the silent baseline poll included) go
// between two headers.
const headerEvery = 25

const header = "------rate------+----------------depth----------------+--------------metadata---------------\n" +
	"ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients\n"

// table turns successive channel stats into nsq_stat's output: a header
// every 25 polls and, from the second poll on, one row per poll with the
// counters and the per-second rates since the previous poll. Rates divide
// by the configured interval, not the time that really passed (as NSQ
// does). Not safe for concurrent use.
type table struct {
	out      io.Writer
	interval time.Duration
	polls    int
	prev     *clientapp.ChannelStats
}

// beginPoll prints the header when one is due; call it before fetching.
func (t *table) beginPoll() error {
	if t.polls%headerEvery != 0 {
		return nil
	}
	_, err := io.WriteString(t.out, header)
	return err
}

// endPoll records cur and prints its row unless it is the baseline. It
// reports whether a row was printed.
func (t *table) endPoll(cur clientapp.ChannelStats) (bool, error) {
	t.polls++
	prev := t.prev
	t.prev = &cur
	if prev == nil {
		return false, nil
	}
	secs := t.interval.Seconds()
	received := cur.MessageCount - prev.MessageCount
	ingress := int64(float64(received) / secs)
	egress := int64(float64(received-(cur.Depth-prev.Depth)) / secs)
	_, err := fmt.Fprintf(t.out, "%7d %7d | %7d %7d %7d %5d %5d | %7d %7d %12d %7d\n",
		ingress, egress,
		cur.Depth, cur.Depth-cur.BackendDepth, cur.BackendDepth, cur.InFlightCount, cur.DeferredCount,
		cur.RequeueCount, cur.TimeoutCount, cur.MessageCount, cur.ClientCount)
	return true, err
}

// fetch finds the topic's nsqd nodes and sums the channel over them. Any
// failure, even of one node, is an error, worded as NSQ's.
func fetch(ctx context.Context, c *httpapi.Client, o *options) (clientapp.ChannelStats, error) {
	var producers []string
	var err error
	if len(o.lookupdHTTP) > 0 {
		producers, err = clientapp.LookupdTopicProducers(ctx, c, o.lookupdHTTP, o.topic)
	} else {
		producers, err = clientapp.NSQDTopicProducers(ctx, c, o.nsqdHTTP, o.topic)
	}
	if err != nil {
		return clientapp.ChannelStats{}, fmt.Errorf("ERROR: failed to get topic producers - %w", err)
	}
	s, err := clientapp.SumChannelStats(ctx, c, producers, o.topic, o.channel)
	if errors.Is(err, clientapp.ErrChannelNotFound) {
		return s, fmt.Errorf("ERROR: failed to find channel(%s) in stats metadata for topic(%s)", o.channel, o.topic)
	}
	if err != nil {
		return s, fmt.Errorf("ERROR: failed to get nsqd stats - %w", err)
	}
	return s, nil
}

// run is nsq_stat: argv are the program name and flags; it returns the
// exit status.
func run(argv []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	o, logger, code, ok := clientapp.Setup(appName, argv, stdout, stderr, parseArgs)
	if !ok {
		return code
	}

	// A signal ends the run at once, even in the middle of a poll.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	client := httpapi.NewClient(nil, o.connectTimeout, o.requestTimeout)
	t := &table{out: stdout, interval: o.interval}
	ticker := time.NewTicker(o.interval)
	defer ticker.Stop()
	rows := 0
	for {
		if err := t.beginPoll(); err != nil {
			logger.Print(err)
			return 1
		}
		s, err := fetch(ctx, client, o)
		if ctx.Err() != nil {
			return 0
		}
		if err != nil {
			logger.Print(err)
			return 1
		}
		printed, err := t.endPoll(s)
		if err != nil {
			logger.Print(err)
			return 1
		}
		if printed {
			rows++
		}
		if o.countSet && rows >= o.count {
			return 0
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return 0
		}
	}
}
