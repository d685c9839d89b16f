package harvester

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/batchpub"
	"github.com/dropin/nsq/internal/lg"
)

// Harvester tails the files matched by Options.Paths and publishes their
// lines to Options.Topic. It owns every goroutine it starts: the scanner,
// one reader per open file, the publisher, the registrar and the stats
// logger. Create it with New, run it with Main, stop it with Exit. Its
// methods are safe for concurrent use.
type Harvester struct {
	opts     *Options
	log      *lg.Leveled
	c        counters
	reg      *registry
	table    *stateTable
	q        *queue
	pub      *batchpub.Publisher
	excludes []*regexp.Regexp

	persistMu sync.Mutex // serializes persist (snapshot + write)

	noteMu sync.Mutex        // guards notes
	notes  map[string]string // path → last problem logged

	readCtx   context.Context // scanner and readers
	stopRead  context.CancelFunc
	outCtx    context.Context // publisher, registrar, stats
	stopOut   context.CancelFunc
	drain     chan struct{}  // closed at Exit: publish what is queued, then stop
	readers   sync.WaitGroup // file harvesters
	wg        sync.WaitGroup // publisher, registrar, stats
	pubDone   chan struct{}  // closed when the publisher returned
	scanDone  chan struct{}  // closed when the scanner returned (no reader starts after)
	startOnce sync.Once      // guards starting the goroutines
	exitOnce  sync.Once      // guards Exit
	exited    chan struct{}  // closed when Exit finished
	exitErrMu sync.Mutex     // guards exitErr
	exitErr   error          // the final registry write's error
}

// New validates opts, loads the registry and prepares the output. It
// neither scans nor connects: Main does.
func New(opts *Options) (*Harvester, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := lg.NewLeveled(opts.Logger, opts.LogLevel)
	excludes, err := compileAll(opts.ExcludeFiles)
	if err != nil {
		return nil, err
	}
	reg, err := newRegistry(opts.RegistryFile, log)
	if err != nil {
		return nil, err
	}
	recs, err := reg.load()
	if err != nil {
		return nil, fmt.Errorf("load registry %s: %w", opts.RegistryFile, err)
	}
	cfg, err := opts.nsqConfig()
	if err != nil {
		return nil, err
	}
	nsqLevel := nsq.LogLevelWarning
	if opts.LogLevel <= lg.DEBUG {
		nsqLevel = nsq.LogLevelDebug
	}
	pub, err := batchpub.New(opts.NSQDTCPAddresses, cfg, opts.Logger, nsqLevel)
	if err != nil {
		return nil, err
	}
	h := &Harvester{
		opts:     opts,
		log:      log,
		reg:      reg,
		table:    newStateTable(opts.Topic, recs),
		pub:      pub,
		excludes: excludes,
		notes:    map[string]string{},
		drain:    make(chan struct{}),
		pubDone:  make(chan struct{}),
		scanDone: make(chan struct{}),
		exited:   make(chan struct{}),
	}
	h.q = newQueue(opts.QueueMaxEvents, opts.QueueMaxBytes, &h.c)
	h.readCtx, h.stopRead = context.WithCancel(context.Background())
	h.outCtx, h.stopOut = context.WithCancel(context.Background())
	return h, nil
}

// Main starts scanning, reading and publishing, and returns once Exit has
// finished, with the error of the final registry write if it failed.
func (h *Harvester) Main() error {
	h.start()
	<-h.exited
	h.exitErrMu.Lock()
	defer h.exitErrMu.Unlock()
	return h.exitErr
}

func (h *Harvester) start() {
	h.startOnce.Do(func() {
		h.log.Logf(lg.INFO, "file_to_nsq: paths %q → topic %q on %q", h.opts.Paths, h.opts.Topic, h.opts.NSQDTCPAddresses)
		h.wg.Add(2)
		go func() {
			defer close(h.scanDone)
			h.scanLoop(h.readCtx)
		}()
		go func() {
			defer close(h.pubDone)
			h.publishLoop(h.outCtx)
		}()
		go h.statsLoop(h.outCtx)
		if h.opts.RegistryFlush > 0 {
			h.wg.Add(1)
			go h.registrarLoop(h.outCtx)
		}
	})
}

// Exit stops scanning and reading, publishes what is queued for up to
// ShutdownTimeout (events still unacknowledged then are read again after
// a restart), writes the registry and disconnects. Safe to call more than
// once; later calls wait for the first.
func (h *Harvester) Exit() {
	h.exitOnce.Do(func() {
		h.startOnce.Do(func() { // never started
			close(h.pubDone)
			close(h.scanDone)
		})
		h.stopRead()
		<-h.scanDone // readers.Add happens only in the scanner
		h.readers.Wait()
		h.q.close()
		close(h.drain)
		h.q.wake() // after drain is closed: the publisher must see it
		if h.opts.ShutdownTimeout > 0 {
			t := time.NewTimer(h.opts.ShutdownTimeout)
			select {
			case <-h.pubDone:
			case <-t.C:
				h.log.Logf(lg.WARN, "shutdown timeout %s: %d events unacknowledged; they are sent again after a restart", h.opts.ShutdownTimeout, h.c.eventsPending.Load())
			}
			t.Stop()
		}
		h.stopOut()
		h.pub.Stop()
		h.wg.Wait()
		<-h.pubDone
		err := h.persist(true)
		h.log.Logf(lg.INFO, "STATS: %s", h.Stats())
		h.exitErrMu.Lock()
		h.exitErr = err
		h.exitErrMu.Unlock()
		close(h.exited)
	})
	<-h.exited
}

// Stats returns a snapshot of the counters.
func (h *Harvester) Stats() Stats { return h.c.snapshot() }
