package nsqd

import (
	"errors"
	"sync/atomic"
	"time"
)

// errNoSpace refuses a publish the data file system has no room for.
var errNoSpace = errors.New("not enough disk space to accept the message")

// diskRoomRefresh is how often diskRoom asks the file system for its free
// space; bytes written in between are counted.
const diskRoomRefresh = 20 * time.Millisecond

// diskRoom keeps nsqd from acknowledging messages it could not persist.
// Every message a durable topic or channel holds in memory is written to
// disk by a clean stop, so a publish is accepted only while the data file
// system has room for it, for everything durable queues hold in memory,
// and for a margin (queue metadata, nsqd.dat, partly filled pages). A
// refused publish touches no queue; once space returns (consumers drain
// the disk queues, an operator frees space) publishing resumes. NSQ
// instead acknowledges and then drops what it cannot write.
//
// Costs are in disk bytes of a message record (size prefix, header,
// body). Safe for concurrent use; all fields are atomics.
type diskRoom struct {
	free    func() (int64, bool) // available bytes, false if unknown
	perFile int64                // --max-bytes-per-file

	held    atomic.Int64 // record bytes durable queues hold in memory
	written atomic.Int64 // record bytes written since the last free() call
	avail   atomic.Int64 // free() at the last refresh, -1 unknown
	statAt  atomic.Int64 // unix ns of the last refresh
	queues  atomic.Int64 // open durable queues (each has metadata to write)
	full    atomic.Bool  // the last reserve was refused
}

func newDiskRoom(dataPath string, perFile int64) *diskRoom {
	r := &diskRoom{free: func() (int64, bool) { return freeBytes(dataPath) }, perFile: perFile}
	r.avail.Store(-1)
	return r
}

// recordCost is the disk space of one message record.
func recordCost(m *Message) int64 { return int64(4 + msgHeaderLength + len(m.Body)) }

func recordsCost(msgs []*Message) int64 {
	var n int64
	for _, m := range msgs {
		n += recordCost(m)
	}
	return n
}

// margin is space kept free beyond what memory needs.
func (r *diskRoom) margin() int64 {
	return 256<<10 + 16<<10*r.queues.Load()
}

func (r *diskRoom) refresh() {
	now := time.Now().UnixNano()
	last := r.statAt.Load()
	if now-last < int64(diskRoomRefresh) || !r.statAt.CompareAndSwap(last, now) {
		return
	}
	r.written.Store(0) // before asking: a write in between counts twice, never zero times
	if free, ok := r.free(); ok {
		r.avail.Store(free)
	} else {
		r.avail.Store(-1)
	}
}

// reserve holds room for records of cost bytes about to be placed, or
// reports that there is none. It returns the bytes held (cost plus page
// slack), which the caller unholds once the messages are placed: each
// placement holds (memory) or writes (disk) its own. recovered is true
// when this is the first success after a refusal.
func (r *diskRoom) reserve(cost int64) (held int64, ok, recovered bool) {
	if r == nil {
		return 0, true, false
	}
	r.refresh()
	// each new data file can leave a partly filled page behind
	cost += cost*4096/max(r.perFile, 4096) + 4096
	total := r.held.Add(cost)
	if avail := r.avail.Load(); avail >= 0 && avail-r.written.Load() < total+r.margin() {
		r.held.Add(-cost)
		r.full.Store(true)
		return 0, false, false
	}
	if r.full.Load() {
		recovered = r.full.CompareAndSwap(true, false)
	}
	return cost, true, recovered
}

func (r *diskRoom) hold(cost int64) {
	if r != nil {
		r.held.Add(cost)
	}
}

func (r *diskRoom) unhold(cost int64) {
	if r != nil {
		r.held.Add(-cost)
	}
}

func (r *diskRoom) wrote(cost int64) {
	if r != nil {
		r.written.Add(cost)
	}
}

func (r *diskRoom) queueOpened() {
	if r != nil {
		r.queues.Add(1)
	}
}

func (r *diskRoom) queueClosed() {
	if r != nil {
		r.queues.Add(-1)
	}
}
