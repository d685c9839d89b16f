package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
)

// app runs one topicWriter per topic and the topic discovery.
type app struct {
	opts     *options
	log      *lg.Leveled
	goNSQLog *log.Logger
	names    nameConfig

	mu       sync.Mutex               // guards topics, stopping
	topics   map[string]chan struct{} // topic → its SIGHUP channel
	stopping bool

	term    chan struct{}  // closed on SIGINT/SIGTERM
	fatal   chan error     // first fatal error of any writer
	writers sync.WaitGroup // the topic writer loops
}

// startTopic creates the consumer and writer loop of a topic not yet
// handled. It is a no-op during shutdown.
func (a *app) startTopic(topic string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping || a.topics[topic] != nil {
		return nil
	}
	names, err := newNamer(a.names, topic)
	if err != nil {
		return fmt.Errorf("couldn't create logger for new topic %s: %w", topic, err)
	}
	o := a.opts
	files := newArchiver(archiveConfig{
		workDir:        o.workDir,
		outputDir:      o.outputDir,
		gzipLevel:      o.gzipLevelIfOn(),
		rotateSize:     o.rotateSize,
		rotateInterval: o.rotateInterval,
	}, names, a.log)
	w := newTopicWriter(topic, files, a.log, o)
	c, err := nsq.NewConsumer(topic, o.channel, o.consumer)
	if err != nil {
		return fmt.Errorf("couldn't create consumer for topic %s: %w", topic, err)
	}
	c.SetLogger(a.goNSQLog, nsq.LogLevelInfo)
	c.AddHandler(w)
	w.src = consumerSource{c}
	if err := clientapp.Connect(c, o.nsqdTCP, o.lookupdHTTP); err != nil {
		c.Stop()
		return fmt.Errorf("couldn't connect consumer for topic %s: %w", topic, err)
	}
	hup := make(chan struct{}, 1)
	a.topics[topic] = hup
	a.writers.Add(1)
	go func() {
		defer a.writers.Done()
		if err := w.run(hup, a.term); err != nil {
			select {
			case a.fatal <- fmt.Errorf("[%s] %w", topic, err):
			default:
			}
		}
	}()
	return nil
}

// hupAll asks every writer to close its current file.
func (a *app) hupAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, hup := range a.topics {
		select {
		case hup <- struct{}{}:
		default: // one is already pending
		}
	}
}

// startFixedTopics starts the --topic list, skipping (with a warning) the
// topics that do not match --topic-pattern.
func (a *app) startFixedTopics() error {
	for _, t := range a.opts.topics {
		if a.opts.pattern != nil && !a.opts.pattern.MatchString(t) {
			a.log.Logf(lg.WARN, "skipping topic %s (doesn't match pattern %s)", t, a.opts.topicPattern)
			continue
		}
		if err := a.startTopic(t); err != nil {
			return err
		}
	}
	return nil
}

// discover polls the lookupds for topics every --topic-refresh until ctx
// ends, starting a writer for each new topic matching --topic-pattern.
// NSQ waits one whole period before its first query; we query at once (a
// deliberate fix). A failing lookupd skips that round.
func (a *app) discover(ctx context.Context) error {
	client := httpapi.NewClient(nil, a.opts.connectTimeout, a.opts.requestTimeout)
	ticker := time.NewTicker(a.opts.topicRefresh)
	defer ticker.Stop()
	for {
		topics, err := clientapp.LookupdTopics(ctx, client, a.opts.lookupdHTTP)
		if err != nil && ctx.Err() == nil {
			a.log.Logf(lg.ERROR, "could not retrieve topic list: %s", err)
		}
		for _, t := range topics {
			if a.opts.pattern != nil && !a.opts.pattern.MatchString(t) {
				continue
			}
			if err := a.startTopic(t); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// run is nsq_to_file: argv are the program name and flags; it returns the
// exit status.
func run(argv []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	o, stdLog, code, ok := clientapp.Setup(appName, argv, stdout, stderr, parseArgs)
	if !ok {
		return code
	}
	hostname, short, err := clientapp.Hostname()
	if err != nil {
		stdLog.Print(err)
		return 1
	}

	a := &app{
		opts:     o,
		log:      lg.NewLeveled(log.New(stderr, o.logPrefix, log.Ldate|log.Ltime|log.Lmicroseconds), o.logLevel),
		goNSQLog: log.New(stderr, "", log.LstdFlags),
		names: nameConfig{
			filenameFormat: o.filenameFormat,
			datetimeFormat: o.datetimeFormat,
			hostIdentifier: o.hostIdentifier,
			gzip:           o.gzip,
			needRev:        o.needRev(),
			hostname:       hostname,
			shortHostname:  short,
			pid:            os.Getpid(),
		},
		topics: map[string]chan struct{}{},
		term:   make(chan struct{}),
		fatal:  make(chan error, 1),
	}
	fatal := func(err error) int {
		a.log.Logf(lg.FATAL, "%s", err)
		return 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	discovered := make(chan error, 1)
	if len(o.topics) > 0 {
		discovered <- a.startFixedTopics()
	} else {
		go func() { discovered <- a.discover(ctx) }()
	}

wait:
	for {
		select {
		case err := <-discovered:
			if err != nil {
				cancel()
				return fatal(err)
			}
			discovered = nil
		case err := <-a.fatal:
			cancel()
			return fatal(err)
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				break wait
			}
			a.hupAll()
		}
	}

	// SIGINT/SIGTERM: no new topics, every writer drains.
	cancel()
	if discovered != nil {
		if err := <-discovered; err != nil {
			return fatal(err)
		}
	}
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	close(a.term)
	done := make(chan struct{})
	go func() {
		a.writers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case err := <-a.fatal:
		return fatal(err)
	}
	select {
	case err := <-a.fatal:
		return fatal(err)
	default:
	}
	return 0
}
