package main

import (
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
)

// pending is what travels with an asynchronous publish to the responder.
type pending struct {
	msg   *nsq.Message
	start time.Time
	dest  int
}

// forwarder publishes consumed messages to the destinations and answers
// them when the publish is acknowledged. Safe for concurrent use.
type forwarder struct {
	destTopic string // "" = the source topic's name
	producers []*nsq.Producer
	pick      func() int
	pool      *clientapp.HostPool // nil in round-robin mode
	filter    *jsonFilter         // nil without JSON flags
	responses chan *nsq.ProducerTransaction
	aggregate *clientapp.TimerMetrics
	perDest   []*clientapp.TimerMetrics // only with 2 or more destinations
	logger    *log.Logger
	wg        sync.WaitGroup // the responders
}

// newForwarder sets up the picker and metrics over producers, one per
// --destination-nsqd-tcp-address, and starts one responder per
// destination.
func newForwarder(o *options, producers []*nsq.Producer, logger *log.Logger) *forwarder {
	n := len(producers)
	f := &forwarder{
		destTopic: o.destTopic,
		producers: producers,
		filter:    newJSONFilter(o, logger),
		responses: make(chan *nsq.ProducerTransaction, n),
		aggregate: clientapp.NewTimerMetrics(o.statusEvery, "[aggregate]:", logger),
		logger:    logger,
	}
	switch o.mode {
	case "hostpool", "epsilon-greedy":
		f.pool = clientapp.NewHostPool(n, o.mode == "epsilon-greedy")
		f.pick = f.pool.Get
	default:
		// Any other --mode is round-robin, as in NSQ.
		rr := &clientapp.RoundRobin{}
		f.pick = func() int { return rr.Next(n) }
	}
	if n >= 2 {
		for _, a := range o.destNSQDTCP {
			f.perDest = append(f.perDest, clientapp.NewTimerMetrics(o.statusEvery, "["+a+"]:", logger))
		}
	}
	f.wg.Add(n)
	for i := 0; i < n; i++ {
		go f.respond()
	}
	return f
}

// handler returns the nsq.Handler for one source topic.
func (f *forwarder) handler(topic string) nsq.Handler {
	dest := f.destTopic
	if dest == "" {
		dest = topic
	}
	return nsq.HandlerFunc(func(m *nsq.Message) error { return f.forward(dest, m) })
}

// forward publishes m (possibly filtered) to one destination. The answer
// to m is left to the responder.
func (f *forwarder) forward(topic string, m *nsq.Message) error {
	body := m.Body
	if f.filter != nil {
		out, keep, err := f.filter.apply(body)
		if err != nil || !keep {
			return err
		}
		body = out
	}
	i := f.pick()
	m.DisableAutoResponse()
	p := &pending{msg: m, start: time.Now(), dest: i}
	if err := f.producers[i].PublishAsync(topic, body, f.responses, p); err != nil {
		// Not even sent (e.g. the destination refuses connections):
		// answer now rather than leaving the message to time out.
		f.logger.Printf("ERROR: failed to publish to %s - %s", f.producers[i], err)
		f.mark(i, err, 0)
		m.Requeue(-1)
	}
	return nil
}

// respond answers source messages as their publishes complete.
func (f *forwarder) respond() {
	defer f.wg.Done()
	for t := range f.responses {
		p, ok := t.Args[0].(*pending)
		if !ok {
			f.logger.Printf("ERROR: unexpected transaction argument %T", t.Args[0])
			continue
		}
		took := time.Since(p.start)
		f.mark(p.dest, t.Error, took)
		if t.Error != nil {
			f.logger.Printf("ERROR: failed to publish to %s - %s", f.producers[p.dest], t.Error)
			p.msg.Requeue(-1)
			continue
		}
		p.msg.Finish()
		f.aggregate.Record(took)
		if f.perDest != nil {
			f.perDest[p.dest].Record(took)
		}
	}
}

func (f *forwarder) mark(i int, err error, took time.Duration) {
	if f.pool != nil {
		f.pool.Mark(i, err, took)
	}
}

// close stops the producers (completing any outstanding transaction) and
// then the responders. Call it after the consumers have stopped.
func (f *forwarder) close() {
	for _, p := range f.producers {
		p.Stop()
	}
	close(f.responses)
	f.wg.Wait()
}

// run is nsq_to_nsq: argv are the program name and flags; it returns the
// exit status.
func run(argv []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	o, logger, code, ok := clientapp.Setup(appName, argv, stdout, stderr, parseArgs)
	if !ok {
		return code
	}

	goNSQLog := log.New(stderr, "", log.LstdFlags)
	producers := make([]*nsq.Producer, 0, len(o.destNSQDTCP))
	for _, addr := range o.destNSQDTCP {
		p, err := nsq.NewProducer(addr, o.producer)
		if err != nil {
			logger.Printf("failed creating producer %s", err)
			return 1
		}
		p.SetLogger(goNSQLog, nsq.LogLevelInfo)
		producers = append(producers, p)
	}
	f := newForwarder(o, producers, logger)
	defer f.close()

	consumers := make([]*nsq.Consumer, 0, len(o.topics))
	stopAll := func() {
		for _, c := range consumers {
			c.Stop()
		}
		for _, c := range consumers {
			<-c.StopChan
		}
	}
	for _, topic := range o.topics {
		c, err := nsq.NewConsumer(topic, o.channel, o.consumer)
		if err != nil {
			logger.Print(err)
			stopAll()
			return 1
		}
		c.SetLogger(goNSQLog, nsq.LogLevelInfo)
		c.AddConcurrentHandlers(f.handler(topic), len(producers))
		consumers = append(consumers, c)
		if err := clientapp.Connect(c, o.nsqdTCP, o.lookupdHTTP); err != nil {
			logger.Print(err)
			stopAll()
			return 1
		}
	}

	<-sigs
	stopAll()
	return 0
}
