package harvester

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// closeReason says why a file harvester stopped.
type closeReason string

const (
	closedShutdown closeReason = "shutdown"
	closedInactive closeReason = "inactive"
	closedRemoved  closeReason = "removed"
	closedRenamed  closeReason = "renamed"
	closedEOF      closeReason = "eof"
	closedError    closeReason = "read error"
)

// fileHarvester reads one open file from an offset, line by line, and
// pushes events to the queue until a close rule fires or shutdown.
type fileHarvester struct {
	h    *Harvester
	st   *fileState
	f    *os.File
	path string // path at start, for log lines
	gen  uint64

	lr      *lineReader
	ml      *multiline // nil without --multiline-pattern
	lastEnd int64      // end of the last event pushed
}

func (h *Harvester) newFileHarvester(st *fileState, f *os.File, path string, offset int64, gen uint64) (*fileHarvester, error) {
	fh := &fileHarvester{h: h, st: st, f: f, path: path, gen: gen}
	if err := fh.reset(offset); err != nil {
		return nil, err
	}
	return fh, nil
}

// reset positions the reader at offset with empty line and event buffers.
func (fh *fileHarvester) reset(offset int64) error {
	if _, err := fh.f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("seek %s to %d: %w", fh.path, offset, err)
	}
	o := fh.h.opts
	fh.lr = newLineReader(fh.f, offset, o.BufferSize, o.MaxLineBytes, o.MaxLineAction, &fh.h.c)
	fh.lastEnd = offset
	fh.ml = nil
	if o.MultilinePattern != "" {
		ml, err := newMultiline(o, &fh.h.c)
		if err != nil {
			return err
		}
		ml.end = offset
		fh.ml = ml
	}
	return nil
}

// run reads until a close rule fires or ctx ends, then releases the file.
func (fh *fileHarvester) run(ctx context.Context) {
	reason := fh.loop(ctx)
	fh.f.Close()
	fh.h.c.openFiles.Add(-1)
	fh.h.table.done(fh.st, fh.gen, fh.lastEnd)
	lvl := lg.INFO
	if reason == closedShutdown {
		lvl = lg.DEBUG
	}
	fh.h.log.Logf(lvl, "HARVESTER(%s): closed (%s) at offset %d", fh.path, reason, fh.lastEnd)
}

func (fh *fileHarvester) loop(ctx context.Context) closeReason {
	o := fh.h.opts
	lastLine := time.Now()
	backoff := o.Backoff
	for {
		if ctx.Err() != nil {
			return closedShutdown
		}
		l, ok, err := fh.lr.next()
		if err != nil {
			fh.h.c.readErrors.Add(1)
			fh.h.log.Logf(lg.ERROR, "HARVESTER(%s): read at offset %d: %s; closing, lines from offset %d are read again at the next scan", fh.path, fh.lr.consumed(), err, fh.lastEnd)
			return closedError
		}
		now := time.Now()
		if ok {
			lastLine = now
			backoff = o.Backoff
			if !fh.process(ctx, l, now) {
				return closedShutdown
			}
			continue
		}
		if fh.ml != nil && fh.ml.due(now) && !fh.pushAll(ctx, fh.ml.flushNow()) {
			return closedShutdown
		}
		if reason, stop := fh.checkClose(ctx, now.Sub(lastLine)); stop {
			return reason
		}
		wait := backoff
		if fh.ml != nil {
			if d := fh.ml.wait(now); d > 0 && d < wait {
				wait = d
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return closedShutdown
		case <-t.C:
		}
		backoff = min(backoff*2, o.MaxBackoff)
	}
}

// checkClose applies the close rules at end of file; a truncation
// restarts the harvester at offset 0 under a new generation instead.
func (fh *fileHarvester) checkClose(ctx context.Context, idle time.Duration) (closeReason, bool) {
	o := fh.h.opts
	fi, err := fh.f.Stat()
	if err != nil {
		fh.h.c.readErrors.Add(1)
		fh.h.log.Logf(lg.ERROR, "HARVESTER(%s): stat: %s; closing", fh.path, err)
		return closedError, true
	}
	if fi.Size() < fh.lr.consumed() {
		fh.h.c.filesTruncated.Add(1)
		fh.h.log.Logf(lg.INFO, "HARVESTER(%s): truncated (size %d < offset %d); reading again from 0", fh.path, fi.Size(), fh.lr.consumed())
		if fh.ml != nil && !fh.pushAll(ctx, fh.ml.flushNow()) {
			return closedShutdown, true
		}
		fh.gen = fh.h.table.truncated(fh.st)
		if err := fh.reset(0); err != nil {
			fh.h.c.readErrors.Add(1)
			fh.h.log.Logf(lg.ERROR, "HARVESTER(%s): %s; closing", fh.path, err)
			return closedError, true
		}
		return "", false
	}
	_, nlink, _ := statOf(fi)
	var reason closeReason
	switch {
	case o.CloseRemoved && nlink == 0:
		fh.h.c.filesRemoved.Add(1)
		reason = closedRemoved
	case o.CloseRenamed && fh.h.table.isRenamed(fh.st):
		reason = closedRenamed
	case o.CloseEOF:
		reason = closedEOF
	case idle >= o.CloseInactive:
		reason = closedInactive
	default:
		return "", false
	}
	// The file is read to its end; a joined event still open is complete.
	if fh.ml != nil && !fh.pushAll(ctx, fh.ml.flushNow()) {
		return closedShutdown, true
	}
	return reason, true
}

// process passes a line through multiline joining and queues the result.
func (fh *fileHarvester) process(ctx context.Context, l line, now time.Time) bool {
	if fh.ml == nil {
		return fh.push(ctx, l)
	}
	return fh.pushAll(ctx, fh.ml.add(l, now))
}

func (fh *fileHarvester) pushAll(ctx context.Context, ls []line) bool {
	for _, l := range ls {
		if !fh.push(ctx, l) {
			return false
		}
	}
	return true
}

// push queues one event, waiting while the queue is full (backpressure).
// It returns false on shutdown.
func (fh *fileHarvester) push(ctx context.Context, l line) bool {
	ev := event{st: fh.st, gen: fh.gen, end: l.end, data: l.data}
	if l.skip {
		ev.data = nil
	} else if len(ev.data) == 0 {
		fh.h.c.linesEmpty.Add(1)
		ev.data = nil
	}
	if err := fh.h.q.push(ctx, ev); err != nil {
		return false
	}
	fh.lastEnd = max(fh.lastEnd, l.end)
	return true
}
