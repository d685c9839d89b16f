package harvester

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// found is one regular file matched by the globs at a scan.
type found struct {
	path string
	id   fileID
	size int64
	mod  time.Time
}

// scanLoop scans at once, then every ScanFrequency, until ctx ends.
func (h *Harvester) scanLoop(ctx context.Context) {
	h.scan(ctx, true)
	every(ctx, h.opts.ScanFrequency, func() { h.scan(ctx, false) })
}

// every calls f every d until ctx ends; f runs on the caller's goroutine.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// scan matches the globs, reconciles what it finds with the state table
// (new files, renames, truncations while closed, removals) and starts
// harvesters for files with unread data.
func (h *Harvester) scan(ctx context.Context, first bool) {
	files := h.match()
	now := time.Now()
	var start []*fileState
	changed := false

	h.table.mu.Lock()
	seen := make(map[fileID]bool, len(files))
	for _, f := range files {
		seen[f.id] = true
		st := h.table.states[f.id]
		if st == nil {
			var offset int64
			if first && h.opts.TailFiles {
				offset = f.size
			}
			st = &fileState{id: f.id, path: f.path, ackOffset: offset, readOffset: offset}
			h.table.states[f.id] = st
			h.table.dirty = true
			changed = true
			h.log.Logf(lg.INFO, "INPUT: new file %s (%s), starting at offset %d", f.path, f.id, offset)
		} else if st.path != f.path {
			h.c.filesRenamed.Add(1)
			h.log.Logf(lg.INFO, "INPUT: %s renamed to %s (%s)", st.path, f.path, f.id)
			st.path = f.path
			st.renamed = st.running
			h.table.dirty = true
			changed = true
		}
		st.mtime, st.lastSeen = f.mod, now
		if st.running {
			continue
		}
		if f.size < st.readOffset {
			h.c.filesTruncated.Add(1)
			h.log.Logf(lg.INFO, "INPUT: %s truncated while closed (size %d < offset %d); reading again from 0", f.path, f.size, st.readOffset)
			h.table.resetLocked(st)
			changed = true
		}
		if f.size > st.readOffset {
			start = append(start, st)
		}
	}
	for id, st := range h.table.states {
		if seen[id] || st.running || !h.opts.CleanRemoved {
			continue
		}
		if cur, err := idOfPath(st.path); err == nil && cur == id {
			continue // still there, just outside the globs now
		}
		delete(h.table.states, id)
		h.table.dirty = true
		changed = true
		h.c.filesCleaned.Add(1)
		h.log.Logf(lg.INFO, "INPUT: %s (%s) is gone; state removed", st.path, id)
	}
	h.table.mu.Unlock()
	if changed && h.opts.RegistryFlush == 0 {
		h.persist(false) // no acknowledgement may come to trigger it
	}

	for _, st := range start {
		if ctx.Err() != nil {
			return
		}
		if lim := h.opts.HarvesterLimit; lim > 0 && h.c.openFiles.Load() >= int64(lim) {
			h.log.Logf(lg.DEBUG, "INPUT: harvester limit %d reached; %d files wait for the next scan", lim, len(start))
			return
		}
		h.startHarvester(ctx, st)
	}
}

// match expands the globs into regular files, skipping exclusions,
// directories, symlinks and files that cannot be examined (logged once).
func (h *Harvester) match() []found {
	var out []found
	dup := map[fileID]bool{}
	for _, pattern := range h.opts.Paths {
		paths, err := filepath.Glob(pattern)
		if err != nil { // only ErrBadPattern, rejected by Validate
			continue
		}
		sort.Strings(paths)
		for _, p := range paths {
			if h.excluded(p) {
				continue
			}
			fi, err := os.Lstat(p)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					h.noteOnce(p, err.Error())
				}
				continue
			}
			if !fi.Mode().IsRegular() {
				if fi.Mode()&fs.ModeSymlink != 0 {
					h.noteOnce(p, "symbolic link; not followed")
				} else if !fi.IsDir() {
					h.noteOnce(p, "not a regular file; skipped")
				}
				continue
			}
			id, _, err := statOf(fi)
			if err != nil {
				h.noteOnce(p, err.Error())
				continue
			}
			if dup[id] {
				continue // a hard link or a path matched by two globs
			}
			dup[id] = true
			out = append(out, found{path: p, id: id, size: fi.Size(), mod: fi.ModTime()})
		}
	}
	return out
}

func (h *Harvester) excluded(path string) bool {
	for _, re := range h.excludes {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// noteOnce logs a problem with path the first time it is seen (and again
// when it changes), so a scan every few seconds does not flood the log.
func (h *Harvester) noteOnce(path, problem string) {
	h.noteMu.Lock()
	defer h.noteMu.Unlock()
	if h.notes[path] == problem {
		return
	}
	h.notes[path] = problem
	h.c.openErrors.Add(1)
	h.log.Logf(lg.WARN, "INPUT: %s: %s", path, problem)
}

// startHarvester opens st's file and starts reading it at its read
// offset. The file is opened by path and checked against the identity, as
// the path may have been replaced since the scan.
func (h *Harvester) startHarvester(ctx context.Context, st *fileState) {
	h.table.mu.Lock()
	path, offset, gen := st.path, st.readOffset, st.gen
	h.table.mu.Unlock()

	f, err := os.Open(path)
	if err != nil {
		h.noteOnce(path, err.Error())
		return
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		h.noteOnce(path, err.Error())
		return
	}
	if id, _, err := statOf(fi); err != nil || id != st.id {
		f.Close() // replaced since the scan; the next scan sorts it out
		return
	}
	h.clearNote(path)

	h.table.mu.Lock()
	if st.running || st.gen != gen || st.readOffset != offset {
		h.table.mu.Unlock()
		f.Close()
		return
	}
	st.running = true
	h.table.mu.Unlock()

	fh, err := h.newFileHarvester(st, f, path, offset, gen)
	if err != nil {
		f.Close()
		h.table.done(st, gen, offset)
		h.c.readErrors.Add(1)
		h.log.Logf(lg.ERROR, "HARVESTER(%s): %s", path, err)
		return
	}
	h.c.openFiles.Add(1)
	h.c.harvestersStarted.Add(1)
	h.log.Logf(lg.INFO, "HARVESTER(%s): started at offset %d", path, offset)
	h.readers.Add(1)
	go func() {
		defer h.readers.Done()
		fh.run(ctx)
	}()
}

func (h *Harvester) clearNote(path string) {
	h.noteMu.Lock()
	delete(h.notes, path)
	h.noteMu.Unlock()
}
