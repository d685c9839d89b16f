package main

import (
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/lg"
)

// source is the consumer side a topicWriter controls; *nsq.Consumer
// provides it through consumerSource.
type source interface {
	IsStarved() bool
	Stop()
	Stopped() <-chan int
}

// consumerSource adapts *nsq.Consumer to source.
type consumerSource struct{ *nsq.Consumer }

func (c consumerSource) Stopped() <-chan int { return c.StopChan }

// topicWriter is the per-topic loop of nsq_to_file: the consumer's handler
// hands it each message, it writes the body to the current file and keeps
// the message in a batch, and it FINishes the batch only after a sync.
// A sync happens when the sync interval ticks, the batch reaches
// max-in-flight, the consumer is starved, a new file was just opened,
// on SIGHUP and during shutdown.
type topicWriter struct {
	topic        string
	files        *archiver
	src          source
	log          *lg.Leveled
	maxBatch     int
	skipEmpty    bool
	syncInterval time.Duration
	now          func() time.Time

	msgs  chan *nsq.Message // from the handler; buffer of 1
	batch []*nsq.Message    // written, not yet synced and FINished
}

func newTopicWriter(topic string, files *archiver, log *lg.Leveled, o *options) *topicWriter {
	return &topicWriter{
		topic:        topic,
		files:        files,
		log:          log,
		maxBatch:     o.maxInFlight,
		skipEmpty:    o.skipEmptyFiles,
		syncInterval: o.syncInterval,
		now:          time.Now,
		msgs:         make(chan *nsq.Message, 1),
	}
}

// HandleMessage implements nsq.Handler: the writer loop answers the
// message once it is on disk.
func (w *topicWriter) HandleMessage(m *nsq.Message) error {
	m.DisableAutoResponse()
	w.msgs <- m
	return nil
}

// run is the writer loop. SIGHUP arrives on hup; closing term starts the
// drain: the consumer is stopped, messages still arriving are written and
// synced at once, and when the consumer has stopped the file is synced,
// closed and moved. Any I/O error is returned at once (fatal for the
// app); the unsynced messages are then left to time out in nsqd.
func (w *topicWriter) run(hup <-chan struct{}, term <-chan struct{}) error {
	ticker := time.NewTicker(w.syncInterval)
	defer ticker.Stop()
	tick := ticker.C
	draining := false
	for {
		select {
		case <-w.src.Stopped():
			return w.finish()
		case <-term:
			term = nil
			tick = nil
			draining = true
			w.src.Stop()
			if err := w.sync(); err != nil {
				return err
			}
		case <-hup:
			if err := w.closeFile(); err != nil {
				return err
			}
		case <-tick:
			if err := w.onTick(); err != nil {
				return err
			}
		case m := <-w.msgs:
			if err := w.write(m, draining); err != nil {
				return err
			}
		}
	}
}

// finish writes what the stopped consumer's last handler may still have
// buffered, then syncs, closes and moves the file.
func (w *topicWriter) finish() error {
	for {
		select {
		case m := <-w.msgs:
			if err := w.write(m, false); err != nil {
				return err
			}
		default:
			return w.closeFile()
		}
	}
}

// write stores one message, rotating first if due.
func (w *topicWriter) write(m *nsq.Message, syncNow bool) error {
	if w.files.needsRotation(w.now()) {
		if err := w.rotate(); err != nil {
			return err
		}
		syncNow = true
	}
	if err := w.files.write(m.Body); err != nil {
		return err
	}
	w.batch = append(w.batch, m)
	if syncNow || len(w.batch) >= w.maxBatch || w.src.IsStarved() {
		return w.sync()
	}
	return nil
}

// onTick rotates when due (with --skip-empty-files only closing, so that
// no file is created until a message arrives) and syncs.
func (w *topicWriter) onTick() error {
	if w.files.needsRotation(w.now()) {
		var err error
		if w.skipEmpty {
			err = w.closeFile()
		} else {
			err = w.rotate()
		}
		if err != nil {
			return err
		}
	}
	return w.sync()
}

// rotate closes the current file (if any) and opens the next.
func (w *topicWriter) rotate() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	return w.files.open(w.now())
}

// sync makes the file durable and FINishes the batch.
func (w *topicWriter) sync() error {
	if err := w.files.sync(); err != nil {
		return err
	}
	w.finishBatch()
	return nil
}

// closeFile closes and moves the file, then FINishes the batch (close
// fsyncs).
func (w *topicWriter) closeFile() error {
	if err := w.files.closeFile(); err != nil {
		return err
	}
	w.finishBatch()
	return nil
}

func (w *topicWriter) finishBatch() {
	if len(w.batch) == 0 {
		return
	}
	w.log.Logf(lg.INFO, "[%s] syncing %d records to disk", w.topic, len(w.batch))
	for _, m := range w.batch {
		m.Finish()
	}
	clear(w.batch)
	w.batch = w.batch[:0]
}
