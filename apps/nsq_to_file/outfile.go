package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"
)

// outFile is one open output file, optionally written through gzip.
// Gzipped files consist of one gzip member per sync, so that everything
// synced is readable even if the process dies later. Not safe for
// concurrent use: its topic's writer loop owns it.
type outFile struct {
	f        *os.File
	gz       *gzip.Writer // nil without --gzip
	rel      string       // path relative to the work/output dirs
	rev      int
	openedAt time.Time // also the time its name was computed for
	// size is the size at open plus the uncompressed bytes written since
	// (what --rotate-size compares against, as in NSQ).
	size int64
	// memberBytes counts bytes written to the current gzip member.
	memberBytes int64
	// members counts the gzip members completed.
	members int
}

// newOutFile wraps an opened file whose current size is size.
func newOutFile(f *os.File, rel string, rev int, openedAt time.Time, size int64, gzipLevel int) (*outFile, error) {
	o := &outFile{f: f, rel: rel, rev: rev, openedAt: openedAt, size: size}
	if gzipLevel > 0 {
		gz, err := gzip.NewWriterLevel(f, gzipLevel)
		if err != nil {
			return nil, fmt.Errorf("gzip writer for %s: %w", f.Name(), err)
		}
		o.gz = gz
	}
	return o, nil
}

func (o *outFile) writer() io.Writer {
	if o.gz != nil {
		return o.gz
	}
	return o.f
}

// write appends p (a message body) and a newline.
func (o *outFile) write(p []byte) error {
	w := o.writer()
	if _, err := w.Write(p); err != nil {
		return fmt.Errorf("write %s: %w", o.f.Name(), err)
	}
	if _, err := w.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("write %s: %w", o.f.Name(), err)
	}
	n := int64(len(p)) + 1
	o.size += n
	o.memberBytes += n
	return nil
}

// endMember completes the current gzip member, if it holds data or is the
// file's only one (an empty gzip file still gets a valid member), and
// makes the writer ready for the next.
func (o *outFile) endMember(final bool) error {
	if o.gz == nil || (o.memberBytes == 0 && (o.members > 0 || !final)) {
		return nil
	}
	if err := o.gz.Close(); err != nil {
		return fmt.Errorf("gzip %s: %w", o.f.Name(), err)
	}
	o.members++
	o.memberBytes = 0
	if !final {
		o.gz.Reset(o.f)
	}
	return nil
}

// sync makes everything written so far durable.
func (o *outFile) sync() error {
	if err := o.endMember(false); err != nil {
		return err
	}
	if err := o.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", o.f.Name(), err)
	}
	return nil
}

// close completes gzip, fsyncs and closes the file.
func (o *outFile) close() error {
	if err := o.endMember(true); err != nil {
		o.f.Close()
		return err
	}
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		return fmt.Errorf("fsync %s: %w", o.f.Name(), err)
	}
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", o.f.Name(), err)
	}
	return nil
}
