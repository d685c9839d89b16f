package nsqd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/logstore"
)

// Taking over an NSQ data directory (--storage=log on a --data-path that
// holds nsqd.dat and disk queues of NSQ's nsqd or of our diskqueue mode).
//
// In NSQ a message waits either in its topic's queue (not yet copied to
// the channels) or, copied, in each channel's own queue. The log has one
// sequence per topic that every channel reads, so:
//
//   - a message of the topic's queue is appended once and every channel
//     gets it (as NSQ's topic would have copied it to all of them; a topic
//     without channels holds it for its first channel);
//   - a message of a channel's queue is appended once and, in the same log
//     batch, recorded finished on every other channel of the topic, so only
//     its own channel delivers it. A message NSQ had copied to several
//     channels is appended once per channel (IDs kept).
//
// Each channel gets its own queue's messages first and then the topic's,
// which is publish order: NSQ copies to channels oldest first.
//
// The import builds a complete log in --data-path/brokerlog.import (every
// batch fsynced, then a checkpoint, then a manifest of the files it
// replaces), fsyncs and renames it to brokerlog/ in one step, fsyncs
// --data-path, and only then removes the originals (a data file with an
// unreadable record is renamed to <file>.bad instead, as NSQ does) and
// finally the manifest. Killed before the rename, the next start throws
// the partial import away and imports again from the untouched originals;
// killed after it, the next start finishes the removals. So an interrupted
// import neither loses nor duplicates a message. It needs free space for a
// second copy of the queues while it runs.

const (
	importDirName = logDirName + ".import"
	// importManifest lists, inside the log directory, the NSQ files still
	// to remove ("remove <file>") or set aside ("bad <file>").
	importManifest = "nsq-import"
	importBatch    = 4096
	importBytes    = 4 << 20
)

// importFault, set by tests, is called at each step of the import; an
// error stops the import there as a crash would (nothing is cleaned up).
var importFault atomic.Pointer[func(step string) error]

func importStep(step string) error {
	if f := importFault.Load(); f != nil {
		return (*f)(step)
	}
	return nil
}

// takeOverNSQDir runs before the log opens: it finishes an import a crash
// interrupted after it became durable, or imports an NSQ data directory
// into a log that does not exist yet.
func takeOverNSQDir(dataPath string, log *lg.Leveled) error {
	logDir := filepath.Join(dataPath, logDirName)
	if _, err := os.Stat(filepath.Join(logDir, importManifest)); err == nil {
		return finishImport(dataPath, log)
	}
	if _, err := os.Stat(logDir); err == nil {
		return nil // a log already: checkStorageDir refuses NSQ files beside it
	}
	staging := filepath.Join(dataPath, importDirName)
	if _, err := os.Stat(staging); err == nil {
		log.Logf(lg.WARN, "IMPORT: discarding the incomplete import in %s (interrupted); importing again", staging)
		if err := os.RemoveAll(staging); err != nil {
			return fmt.Errorf("remove the incomplete import %s: %w", staging, err)
		}
	}
	d, err := scanNSQDir(dataPath)
	if err != nil {
		return fmt.Errorf("cannot import the NSQ data in %s: %w", dataPath, err)
	}
	if len(d.files) == 0 {
		return nil
	}
	log.Logf(lg.INFO, "IMPORT: taking over the NSQ data in %s: %d topics, %d files", dataPath, len(d.topics), len(d.files))
	if err := importNSQDir(dataPath, staging, d, log); err != nil {
		return fmt.Errorf("import of the NSQ data in %s failed (the NSQ files are unchanged): %w", dataPath, err)
	}
	return finishImport(dataPath, log)
}

// importNSQDir writes the whole log into staging and renames it into
// place, durably.
func importNSQDir(dataPath, staging string, d *nsqDir, log *lg.Leveled) error {
	eng, err := brokerlog.Open(brokerlog.Options{Dir: staging,
		Logf: func(f string, args ...any) { log.Logf(lg.INFO, "IMPORT: LOG: "+f, args...) }})
	if err != nil {
		return err
	}
	im := &importer{eng: eng, dir: dataPath, log: log}
	for _, t := range d.topics {
		if err = im.topic(t); err != nil {
			break
		}
	}
	if err == nil {
		_, err = eng.Checkpoint()
	}
	if cerr := eng.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	var manifest strings.Builder
	for _, f := range d.files {
		verb := "remove"
		if im.bad[f] {
			verb = "bad"
		}
		fmt.Fprintf(&manifest, "%s %s\n", verb, f)
	}
	if err := writeSynced(filepath.Join(staging, importManifest), manifest.String()); err != nil {
		return err
	}
	if err := syncDir(staging); err != nil {
		return err
	}
	if err := importStep("rename"); err != nil {
		return err
	}
	if err := os.Rename(staging, filepath.Join(dataPath, logDirName)); err != nil {
		return err
	}
	return syncDir(dataPath)
}

// importer appends the queues of one NSQ data directory to an engine
// nothing else uses, so it knows the sequence numbers batches get.
type importer struct {
	eng *brokerlog.Engine
	dir string
	log *lg.Leveled
	bad map[string]bool // data files with an unreadable record
}

func (im *importer) await(p *logstore.Proposal) error {
	if err := p.Wait(); err != nil {
		return err
	}
	_, last := p.Indexes()
	return im.eng.Committer().WaitApplied(context.Background(), last)
}

func (im *importer) topic(t *nsqTopic) error {
	if err := im.await(im.eng.CreateTopic(t.name)); err != nil {
		return err
	}
	if t.paused {
		if err := im.await(im.eng.PauseTopic(t.name)); err != nil {
			return err
		}
	}
	for _, c := range t.channels {
		if err := im.await(im.eng.CreateChannel(t.name, c.name, brokerlog.Start{Mode: brokerlog.StartLatest})); err != nil {
			return err
		}
		if c.paused {
			if err := im.await(im.eng.PauseChannel(t.name, c.name)); err != nil {
				return err
			}
		}
		if c.dead {
			im.log.Logf(lg.WARN, "IMPORT: CHANNEL(%s:%s): its max_attempts/dead_letter_topic settings of nsqd.dat are not kept in log mode", t.name, c.name)
		}
	}
	for _, c := range t.channels {
		if c.queue == nil {
			continue
		}
		n, err := im.queue(t, c.queue, c.name)
		if err != nil {
			return fmt.Errorf("channel %s:%s: %w", t.name, c.name, err)
		}
		im.log.Logf(lg.INFO, "IMPORT: CHANNEL(%s:%s): %d messages (its queue's metadata said %d), paused=%v", t.name, c.name, n, c.queue.depth, c.paused)
	}
	var n int64
	if t.queue != nil {
		var err error
		if n, err = im.queue(t, t.queue, ""); err != nil {
			return fmt.Errorf("topic %s: %w", t.name, err)
		}
	}
	im.log.Logf(lg.INFO, "IMPORT: TOPIC(%s): %d messages for all %d channels, paused=%v", t.name, n, len(t.channels), t.paused)
	return nil
}

// queue appends a queue's messages: for channel "" to the topic (every
// channel), else for that channel only. It returns how many.
func (im *importer) queue(t *nsqTopic, q *nsqQueue, channel string) (int64, error) {
	var count int64
	bad, err := q.read(im.dir, importBatch, importBytes, func(recs [][]byte) error {
		msgs := make([]brokerlog.Message, len(recs))
		for i, rec := range recs {
			var m Message
			if err := decodeInto(&m, rec); err != nil {
				return err
			}
			msgs[i] = brokerlog.Message{ID: m.ID, Timestamp: m.Timestamp, Attempts: m.Attempts, Body: m.Body}
		}
		if err := im.publish(t, channel, msgs); err != nil {
			return err
		}
		count += int64(len(msgs))
		return importStep("batch")
	})
	for _, f := range bad {
		im.log.Logf(lg.WARN, "IMPORT: %s holds an unreadable record: the messages after it in that file are not imported; it is kept as %s.bad", f, f)
		if im.bad == nil {
			im.bad = map[string]bool{}
		}
		im.bad[f] = true
	}
	return count, err
}

// publish appends msgs; for a channel's queue, the same batch marks them
// finished on the topic's other channels.
func (im *importer) publish(t *nsqTopic, channel string, msgs []brokerlog.Message) error {
	p := brokerlog.Publish{Topic: t.name, Messages: msgs}
	recs := []logstore.Record{{Kind: brokerlog.KindPublish, Data: p.Encode(nil)}}
	if channel != "" {
		ti, ok := im.eng.State().Topic(t.name)
		if !ok {
			return fmt.Errorf("topic %s missing from the log", t.name)
		}
		done := []brokerlog.Range{{Lo: ti.NextSeq, Hi: ti.NextSeq + uint64(len(msgs))}}
		var states []brokerlog.ChannelState
		for _, other := range t.channels {
			if other.name != channel {
				states = append(states, brokerlog.ChannelState{Topic: t.name, Channel: other.name, Finished: done})
			}
		}
		if len(states) > 0 {
			recs = append(recs, logstore.Record{Kind: brokerlog.KindChannelState, Data: brokerlog.EncodeChannelStates(nil, states)})
		}
	}
	return im.await(im.eng.Committer().ProposeBatch(recs))
}

// finishImport removes (or sets aside) the NSQ files a durable import
// replaced, then the manifest. It may run again after a crash: files
// already gone are skipped.
func finishImport(dataPath string, log *lg.Leveled) error {
	logDir := filepath.Join(dataPath, logDirName)
	manifest := filepath.Join(logDir, importManifest)
	f, err := os.Open(manifest)
	if err != nil {
		return err
	}
	defer f.Close()
	removed, setAside := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		verb, name, ok := strings.Cut(sc.Text(), " ")
		if !ok || name == "" || strings.ContainsRune(name, os.PathSeparator) {
			return fmt.Errorf("import manifest %s: bad line %q", manifest, sc.Text())
		}
		path := filepath.Join(dataPath, name)
		switch verb {
		case "remove":
			err = os.Remove(path)
			removed++
		case "bad":
			err = os.Rename(path, path+".bad")
			setAside++
		default:
			return fmt.Errorf("import manifest %s: bad line %q", manifest, sc.Text())
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("import: %w", err)
		}
		if err := importStep("remove"); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := syncDir(dataPath); err != nil {
		return err
	}
	if err := os.Remove(manifest); err != nil {
		return err
	}
	log.Logf(lg.INFO, "IMPORT: done: the log in %s holds the NSQ data; %d NSQ files removed, %d set aside as .bad", logDir, removed, setAside)
	return syncDir(logDir)
}

// writeSynced writes a new file and fsyncs it.
func writeSynced(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
