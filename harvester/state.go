package harvester

import (
	"sort"
	"sync"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

// fileState is what the harvester knows about one file identity. Its
// fields (except id) are guarded by the owning stateTable's mu.
type fileState struct {
	id fileID

	path       string    // last path the file was seen under
	ackOffset  int64     // offset up to which nsqd acknowledged: what the registry stores
	readOffset int64     // where the next harvester in this process resumes
	gen        uint64    // bumped on truncation; acks of older generations are ignored
	running    bool      // a harvester holds the file open
	renamed    bool      // the path changed while the harvester ran
	mtime      time.Time // modification time at the last scan
	lastSeen   time.Time // time of the last scan that found the file
}

// stateTable holds one fileState per identity and turns acknowledged
// events into offsets. Safe for concurrent use.
type stateTable struct {
	topic string

	mu     sync.Mutex // guards states, dirty and the fields of every fileState
	states map[fileID]*fileState
	dirty  bool // changed since the last snapshot
}

func newStateTable(topic string, recs []Record) *stateTable {
	t := &stateTable{topic: topic, states: make(map[fileID]*fileState, len(recs))}
	for _, r := range recs {
		id := fileID{Dev: r.Dev, Ino: r.Ino}
		t.states[id] = &fileState{
			id:         id,
			path:       r.Path,
			ackOffset:  r.Offset,
			readOffset: r.Offset,
			mtime:      r.Mtime,
			lastSeen:   r.LastSeen,
		}
	}
	return t
}

// ack moves file offsets for acknowledged events. Events are acked in the
// order they were read, but an ack from before a truncation (older
// generation) must not move the reset offset forward again.
func (t *stateTable) ack(evs []event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ev := range evs {
		st := ev.st
		if ev.gen != st.gen || ev.end <= st.ackOffset {
			continue
		}
		st.ackOffset = ev.end
		t.dirty = true
	}
}

// truncated restarts st's offsets at 0 under a new generation and returns
// that generation.
func (t *stateTable) truncated(st *fileState) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resetLocked(st)
	return st.gen
}

func (t *stateTable) resetLocked(st *fileState) {
	st.gen++
	st.ackOffset = 0
	st.readOffset = 0
	t.dirty = true
}

// done records that st's harvester of generation gen stopped after
// reading up to end.
func (t *stateTable) done(st *fileState, gen uint64, end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st.running = false
	st.renamed = false
	if st.gen == gen {
		st.readOffset = end
	}
}

func (t *stateTable) isRenamed(st *fileState) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return st.renamed
}

// snapshot returns the records to persist, or nil if nothing changed since
// the last snapshot.
func (t *stateTable) snapshot(force bool) []Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.dirty && !force {
		return nil
	}
	t.dirty = false
	recs := make([]Record, 0, len(t.states))
	for _, st := range t.states {
		recs = append(recs, Record{
			Dev:      st.id.Dev,
			Ino:      st.id.Ino,
			Path:     st.path,
			Offset:   st.ackOffset,
			Mtime:    st.mtime,
			LastSeen: st.lastSeen,
			Topic:    t.topic,
		})
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Path < recs[j].Path })
	return recs
}

func (t *stateTable) markDirty() {
	t.mu.Lock()
	t.dirty = true
	t.mu.Unlock()
}

// persist writes the registry if anything changed (or force). A failed
// write is logged, counted and retried at the next persist. Only the
// registrar goroutine, the publisher (with --registry-flush=0) and Exit
// call it; persistMu keeps snapshots reaching the disk in order.
func (h *Harvester) persist(force bool) error {
	h.persistMu.Lock()
	defer h.persistMu.Unlock()
	recs := h.table.snapshot(force)
	if recs == nil {
		return nil
	}
	if err := h.reg.write(recs); err != nil {
		h.table.markDirty()
		h.c.registryErrors.Add(1)
		h.log.Logf(lg.ERROR, "REGISTRY: %s (will retry)", err)
		return err
	}
	h.c.registryWrites.Add(1)
	return nil
}
