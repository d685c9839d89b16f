package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// archiveConfig is the file-handling part of nsq_to_file's options.
type archiveConfig struct {
	workDir        string
	outputDir      string
	gzipLevel      int // 0 = no gzip
	rotateSize     int64
	rotateInterval time.Duration
}

// archiver owns one topic's sequence of output files: it opens them under
// the right name and revision, rotates them, and on close moves them from
// the work to the output directory. Not safe for concurrent use: its
// topic's writer loop owns it.
type archiver struct {
	cfg   archiveConfig
	names *namer
	log   *lg.Leveled

	out      *outFile // nil when no file is open
	lastBase string   // base name of the last file opened
	lastRev  int
	opened   bool // a file was opened before
}

func newArchiver(cfg archiveConfig, names *namer, log *lg.Leveled) *archiver {
	return &archiver{cfg: cfg, names: names, log: log}
}

// exclusive reports whether files are created exclusively (a fresh file
// per revision) rather than appended to: with gzip (members of an older
// run must not be mixed with ours) and with time rotation.
func (a *archiver) exclusive() bool {
	return a.cfg.gzipLevel > 0 || a.cfg.rotateInterval > 0
}

// needsRotation reports whether the next write at now must go to a new
// file: none is open, the name changed (the datetime rolled over), the
// file is older than --rotate-interval, or larger than --rotate-size.
func (a *archiver) needsRotation(now time.Time) bool {
	switch {
	case a.out == nil:
		return true
	case a.names.base(now) != a.lastBase:
		return true
	case a.cfg.rotateInterval > 0 && now.Sub(a.out.openedAt) > a.cfg.rotateInterval:
		return true
	case a.cfg.rotateSize > 0 && a.out.size > a.cfg.rotateSize:
		return true
	}
	return false
}

// open opens the file for now. The revision restarts at 0 for a new base
// name, else continues after the last one, and skips names that exist in
// the output dir (when it differs from the work dir), that exist at all
// when opening exclusively, or whose file is already over --rotate-size.
func (a *archiver) open(now time.Time) error {
	base := a.names.base(now)
	rev := 0
	if a.opened && base == a.lastBase {
		rev = a.lastRev + 1
	}
	for ; ; rev++ {
		rel := a.names.name(now, rev)
		if a.cfg.workDir != a.cfg.outputDir {
			if _, err := os.Stat(filepath.Join(a.cfg.outputDir, rel)); err == nil {
				if err := a.checkRevisable(rel); err != nil {
					return err
				}
				continue
			}
		}
		out, err := a.openRev(rel, rev, now)
		if err != nil {
			return err
		}
		if out == nil {
			if err := a.checkRevisable(rel); err != nil {
				return err
			}
			continue
		}
		a.out, a.lastBase, a.lastRev, a.opened = out, base, rev, true
		return nil
	}
}

// checkRevisable guards the revision search against a name that cannot
// change (no <REV>); the option checks make that unreachable.
func (a *archiver) checkRevisable(rel string) error {
	if !a.names.hasRev {
		return fmt.Errorf("cannot open %s: %w", rel, errMissingRev)
	}
	return nil
}

// openRev tries to open revision rev at rel; nil without error means this
// revision must be skipped.
func (a *archiver) openRev(rel string, rev int, now time.Time) (*outFile, error) {
	path := filepath.Join(a.cfg.workDir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o770); err != nil {
		return nil, fmt.Errorf("unable to create dir: %w", err)
	}
	flags := os.O_CREATE | os.O_WRONLY
	if a.exclusive() {
		flags |= os.O_EXCL
	} else {
		flags |= os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o666)
	if errors.Is(err, fs.ErrExist) && a.exclusive() {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("unable to open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("unable to stat %s: %w", path, err)
	}
	if a.cfg.rotateSize > 0 && st.Size() > a.cfg.rotateSize {
		f.Close()
		return nil, nil
	}
	a.log.Logf(lg.INFO, "opening %s", path)
	return newOutFile(f, rel, rev, now, st.Size(), a.cfg.gzipLevel)
}

// write appends one message body.
func (a *archiver) write(body []byte) error { return a.out.write(body) }

// sync makes the open file's data durable (nothing to do without one).
func (a *archiver) sync() error {
	if a.out == nil {
		return nil
	}
	return a.out.sync()
}

// closeFile closes the open file, if any, and moves it to the output dir.
func (a *archiver) closeFile() error {
	out := a.out
	if out == nil {
		return nil
	}
	a.out = nil
	src := filepath.Join(a.cfg.workDir, out.rel)
	a.log.Logf(lg.INFO, "closing %s", src)
	if err := out.close(); err != nil {
		return err
	}
	if a.cfg.workDir == a.cfg.outputDir {
		return nil
	}
	return a.move(src, out)
}

// move hard-links the finished file into the output dir and unlinks it
// from the work dir. A link never overwrites: if the name is taken, the
// revision is bumped until a free name is found. Like NSQ we need both
// dirs on one filesystem; otherwise the error is fatal and the file stays
// in the work dir.
func (a *archiver) move(src string, out *outFile) error {
	rev := out.rev
	rel := out.rel
	for {
		dst := filepath.Join(a.cfg.outputDir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o770); err != nil {
			return fmt.Errorf("unable to create dir: %w", err)
		}
		err := os.Link(src, dst)
		if err == nil {
			if rel != out.rel {
				a.log.Logf(lg.WARN, "renamed finished file %s to %s to avoid overwrite", out.rel, rel)
			}
			if err := os.Remove(src); err != nil {
				return fmt.Errorf("unable to remove %s after moving it: %w", src, err)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("unable to move file from %s to %s: %w", src, dst, err)
		}
		if err := a.checkRevisable(rel); err != nil {
			return err
		}
		rev++
		rel = a.names.name(out.openedAt, rev)
	}
}
