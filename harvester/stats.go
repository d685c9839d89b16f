package harvester

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// counters are the live metrics, updated with atomics from every goroutine.
type counters struct {
	openFiles         atomic.Int64
	harvestersStarted atomic.Int64
	eventsPending     atomic.Int64
	eventsAcked       atomic.Int64
	eventsPublished   atomic.Int64
	eventsRetried     atomic.Int64
	eventsRejected    atomic.Int64
	publishErrors     atomic.Int64
	registryWrites    atomic.Int64
	registryErrors    atomic.Int64
	linesSplit        atomic.Int64
	linesTruncated    atomic.Int64
	linesDropped      atomic.Int64
	linesEmpty        atomic.Int64
	multilineDropped  atomic.Int64
	filesTruncated    atomic.Int64
	filesRenamed      atomic.Int64
	filesRemoved      atomic.Int64
	filesCleaned      atomic.Int64
	openErrors        atomic.Int64
	readErrors        atomic.Int64
}

// Stats is a snapshot of a Harvester's counters (totals since New, except
// OpenFiles and EventsPending, which are current values).
type Stats struct {
	OpenFiles         int64 // harvester_open_files: files held open now
	HarvestersStarted int64 // harvesters started
	EventsPending     int64 // events read but not yet acknowledged (queued or in flight)
	EventsAcked       int64 // events acknowledged (published, or carrying only an offset)
	EventsPublished   int64 // messages nsqd acknowledged
	EventsRetried     int64 // messages sent again after a failed MPUB: each a possible duplicate
	EventsRejected    int64 // messages nsqd refused (E_BAD_MESSAGE), given up
	PublishErrors     int64 // failed MPUB attempts
	RegistryWrites    int64 // registry files written
	RegistryErrors    int64 // registry writes that failed (retried at the next flush)
	LinesSplit        int64 // lines longer than --max-line-bytes sent in pieces
	LinesTruncated    int64 // lines longer than --max-line-bytes cut short
	LinesDropped      int64 // lines longer than --max-line-bytes discarded
	LinesEmpty        int64 // empty lines skipped (nsqd refuses empty messages)
	MultilineDropped  int64 // lines beyond --multiline-max-lines left out of an event
	FilesTruncated    int64 // truncations detected (file read again from 0)
	FilesRenamed      int64 // renames detected
	FilesRemoved      int64 // harvesters closed because their file was deleted
	FilesCleaned      int64 // states dropped by --clean-removed
	OpenErrors        int64 // files that could not be opened or examined
	ReadErrors        int64 // read errors that closed a harvester
}

func (c *counters) snapshot() Stats {
	return Stats{
		OpenFiles:         c.openFiles.Load(),
		HarvestersStarted: c.harvestersStarted.Load(),
		EventsPending:     c.eventsPending.Load(),
		EventsAcked:       c.eventsAcked.Load(),
		EventsPublished:   c.eventsPublished.Load(),
		EventsRetried:     c.eventsRetried.Load(),
		EventsRejected:    c.eventsRejected.Load(),
		PublishErrors:     c.publishErrors.Load(),
		RegistryWrites:    c.registryWrites.Load(),
		RegistryErrors:    c.registryErrors.Load(),
		LinesSplit:        c.linesSplit.Load(),
		LinesTruncated:    c.linesTruncated.Load(),
		LinesDropped:      c.linesDropped.Load(),
		LinesEmpty:        c.linesEmpty.Load(),
		MultilineDropped:  c.multilineDropped.Load(),
		FilesTruncated:    c.filesTruncated.Load(),
		FilesRenamed:      c.filesRenamed.Load(),
		FilesRemoved:      c.filesRemoved.Load(),
		FilesCleaned:      c.filesCleaned.Load(),
		OpenErrors:        c.openErrors.Load(),
		ReadErrors:        c.readErrors.Load(),
	}
}

// String formats the snapshot as the periodic log line's key=value list.
func (s Stats) String() string {
	pairs := []struct {
		k string
		v int64
	}{
		{"harvester_open_files", s.OpenFiles},
		{"harvesters_started", s.HarvestersStarted},
		{"events_pending", s.EventsPending},
		{"events_acked", s.EventsAcked},
		{"events_published", s.EventsPublished},
		{"events_retried", s.EventsRetried},
		{"events_rejected", s.EventsRejected},
		{"publish_errors", s.PublishErrors},
		{"registry_writes", s.RegistryWrites},
		{"registry_errors", s.RegistryErrors},
		{"lines_split", s.LinesSplit},
		{"lines_truncated", s.LinesTruncated},
		{"lines_dropped", s.LinesDropped},
		{"lines_empty", s.LinesEmpty},
		{"multiline_lines_dropped", s.MultilineDropped},
		{"files_truncated", s.FilesTruncated},
		{"files_renamed", s.FilesRenamed},
		{"files_removed", s.FilesRemoved},
		{"files_cleaned", s.FilesCleaned},
		{"open_errors", s.OpenErrors},
		{"read_errors", s.ReadErrors},
	}
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", p.k, p.v)
	}
	return b.String()
}
