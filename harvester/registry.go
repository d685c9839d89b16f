package harvester

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// registryVersion is written into every registry file; a file with another
// version is treated as unreadable.
const registryVersion = 1

// Record is one file's persisted state: its identity, last known path and
// the offset up to which nsqd acknowledged its lines.
type Record struct {
	Dev      uint64    `json:"dev"`
	Ino      uint64    `json:"ino"`
	Path     string    `json:"path"`
	Offset   int64     `json:"offset"`
	Mtime    time.Time `json:"mtime"`
	LastSeen time.Time `json:"last_seen"`
	Topic    string    `json:"topic"`
}

type registryDoc struct {
	Version int      `json:"version"`
	Files   []Record `json:"files"`
}

// errCorrupt marks a registry file that exists but cannot be used.
var errCorrupt = errors.New("corrupt registry")

// registry reads and writes the registry file. A write replaces the file
// atomically (temp file, fsync, rename, fsync of the directory) and keeps
// the previous generation as <file>.old, which load falls back to when the
// current file is missing, empty or unparsable.
type registry struct {
	path string
	log  *lg.Leveled

	mu          sync.Mutex // serializes write; guards currentGood
	currentGood bool       // path holds a generation worth keeping as .old
}

func newRegistry(path string, log *lg.Leveled) (*registry, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("registry directory: %w", err)
	}
	return &registry{path: path, log: log}, nil
}

func (r *registry) oldPath() string { return r.path + ".old" }

// load returns the saved records. A corrupt current file is moved aside to
// <file>.corrupt and the .old generation used instead; if neither is
// usable it says so and returns no records, so every file starts from the
// configured position. Only I/O errors other than "not found" fail.
func (r *registry) load() ([]Record, error) {
	recs, err := r.readFile(r.path)
	switch {
	case err == nil:
		r.mu.Lock()
		r.currentGood = true
		r.mu.Unlock()
		r.log.Logf(lg.INFO, "REGISTRY: loaded %d file states from %s", len(recs), r.path)
		return recs, nil
	case errors.Is(err, errCorrupt):
		aside := r.path + ".corrupt"
		r.log.Logf(lg.WARN, "REGISTRY: %s; moving it to %s and trying %s", err, aside, r.oldPath())
		if rerr := os.Rename(r.path, aside); rerr != nil {
			return nil, fmt.Errorf("move corrupt registry aside: %w", rerr)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, err
	}
	old, oerr := r.readFile(r.oldPath())
	switch {
	case oerr == nil:
		r.log.Logf(lg.WARN, "REGISTRY: using previous generation %s (%d file states); lines acknowledged after it was written will be sent again", r.oldPath(), len(old))
		return old, nil
	case errors.Is(oerr, fs.ErrNotExist):
		if errors.Is(err, errCorrupt) {
			r.log.Logf(lg.ERROR, "REGISTRY: no usable registry; every file starts from the configured position")
		}
		return nil, nil
	case errors.Is(oerr, errCorrupt):
		r.log.Logf(lg.ERROR, "REGISTRY: %s as well; every file starts from the configured position", oerr)
		return nil, nil
	default:
		return nil, oerr
	}
}

func (r *registry) readFile(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read registry: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", errCorrupt, path)
	}
	var doc registryDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errCorrupt, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: trailing data", errCorrupt, path)
	}
	if doc.Version != registryVersion {
		return nil, fmt.Errorf("%w: %s: version %d, want %d", errCorrupt, path, doc.Version, registryVersion)
	}
	out := doc.Files[:0]
	for _, rec := range doc.Files {
		if rec.Offset < 0 || rec.Path == "" {
			r.log.Logf(lg.WARN, "REGISTRY: %s: ignoring invalid record %+v", path, rec)
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

// write replaces the registry with recs. Safe for concurrent use.
func (r *registry) write(recs []Record) error {
	if recs == nil {
		recs = []Record{}
	}
	data, err := json.Marshal(registryDoc{Version: registryVersion, Files: recs})
	if err != nil {
		return fmt.Errorf("encode registry: %w", err)
	}
	data = append(data, '\n')

	r.mu.Lock()
	defer r.mu.Unlock()
	dir := filepath.Dir(r.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(r.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("registry temp file: %w", err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if err := tmp.Chmod(0o600); err != nil {
		cleanup()
		return fmt.Errorf("registry temp file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		cleanup()
		return fmt.Errorf("write registry: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		cleanup()
		return fmt.Errorf("fsync registry: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("close registry: %w", err)
	}
	if r.currentGood {
		r.keepOldLocked()
	}
	if err := os.Rename(tmp.Name(), r.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("replace registry: %w", err)
	}
	r.currentGood = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fsync registry directory: %w", err)
	}
	return nil
}

// keepOldLocked makes <file>.old the current generation, preferring a
// hard link so the registry path never disappears.
func (r *registry) keepOldLocked() {
	old := r.oldPath()
	if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.log.Logf(lg.WARN, "REGISTRY: remove %s: %s", old, err)
	}
	if err := os.Link(r.path, old); err == nil {
		return
	}
	if err := os.Rename(r.path, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.log.Logf(lg.WARN, "REGISTRY: keep previous generation as %s: %s", old, err)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
