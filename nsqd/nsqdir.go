package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dropin/nsq/internal/names"
)

// Reading an NSQ data directory (nsqd.dat and the disk queues of topics
// and channels) for the import into the log (logmode_import.go). Nothing
// here writes: the originals stay as they are until the import is durable.

// nsqDir is what an NSQ data directory holds.
type nsqDir struct {
	topics []*nsqTopic // sorted by name
	files  []string    // every file the import replaces (nsqd.dat, all queue files)
}

type nsqTopic struct {
	name     string
	paused   bool
	queue    *nsqQueue // nil if the topic has no disk queue
	channels []*nsqChannel
}

type nsqChannel struct {
	name   string
	paused bool
	dead   bool // nsqd.dat has dead-letter settings (ours) for it
	queue  *nsqQueue
}

// nsqQueue is one disk queue: the position its metadata records and its
// data files from there on.
type nsqQueue struct {
	name      string // topic, or topic:channel
	depth     int64  // as its metadata says (-1 without metadata)
	readFile  int64
	readPos   int64
	dataFiles []int64 // numbers of the data files, ascending
}

// queueFileName splits "<name>.diskqueue.<meta|NNNNNN>.dat"; ok false for
// anything else.
func queueFileName(file string) (name string, num int64, meta, ok bool) {
	rest, found := strings.CutSuffix(file, ".dat")
	if !found {
		return "", 0, false, false
	}
	i := strings.LastIndex(rest, ".diskqueue.")
	if i <= 0 {
		return "", 0, false, false
	}
	name, part := rest[:i], rest[i+len(".diskqueue."):]
	if part == "meta" {
		return name, 0, true, true
	}
	num, err := strconv.ParseInt(part, 10, 64)
	if err != nil || num < 0 || len(part) < 6 {
		return "", 0, false, false
	}
	return name, num, false, true
}

// scanNSQDir reads nsqd.dat and lists the disk queues of dir. A queue
// whose name is not a valid topic or channel is an error: the import would
// have to leave it behind.
func scanNSQDir(dir string) (*nsqDir, error) {
	d := &nsqDir{}
	topics := map[string]*nsqTopic{}
	topic := func(name string) *nsqTopic {
		t := topics[name]
		if t == nil {
			t = &nsqTopic{name: name}
			topics[name] = t
		}
		return t
	}
	channel := func(t *nsqTopic, name string) *nsqChannel {
		for _, c := range t.channels {
			if c.name == name {
				return c
			}
		}
		c := &nsqChannel{name: name}
		t.channels = append(t.channels, c)
		return c
	}
	metaPath := filepath.Join(dir, metadataFile)
	data, err := os.ReadFile(metaPath)
	switch {
	case err == nil:
		var m metadata
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("parse %s: %w", metaPath, err)
		}
		for _, mt := range m.Topics {
			if !names.IsValidTopicName(mt.Name) || names.IsEphemeral(mt.Name) {
				continue // NSQ skips these too
			}
			t := topic(mt.Name)
			t.paused = mt.Paused
			for _, mc := range mt.Channels {
				if !names.IsValidChannelName(mc.Name) || names.IsEphemeral(mc.Name) {
					continue
				}
				c := channel(t, mc.Name)
				c.paused = mc.Paused
				c.dead = mc.MaxAttempts > 0 || mc.DeadLetterTopic != ""
			}
		}
		d.files = append(d.files, metadataFile)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", metaPath, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	queues := map[string]*nsqQueue{}
	for _, e := range ents {
		name, num, meta, ok := queueFileName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		q := queues[name]
		if q == nil {
			q = &nsqQueue{name: name, depth: -1}
			queues[name] = q
		}
		d.files = append(d.files, e.Name())
		if meta {
			if err := q.loadMeta(filepath.Join(dir, e.Name())); err != nil {
				return nil, err
			}
		} else {
			q.dataFiles = append(q.dataFiles, num)
		}
	}
	for name, q := range queues {
		sort.Slice(q.dataFiles, func(i, j int) bool { return q.dataFiles[i] < q.dataFiles[j] })
		tn, cn, isChannel := strings.Cut(name, ":")
		if !names.IsValidTopicName(tn) || (isChannel && !names.IsValidChannelName(cn)) {
			return nil, fmt.Errorf("disk queue %q in %s is not named after a valid topic or channel", name, dir)
		}
		t := topic(tn)
		if !isChannel {
			t.queue = q
			continue
		}
		channel(t, cn).queue = q
	}
	for _, t := range topics {
		sort.Slice(t.channels, func(i, j int) bool { return t.channels[i].name < t.channels[j].name })
		d.topics = append(d.topics, t)
	}
	sort.Slice(d.topics, func(i, j int) bool { return d.topics[i].name < d.topics[j].name })
	sort.Strings(d.files)
	return d, nil
}

// loadMeta reads "depth\nreadFile,readPos\nwriteFile,writePos\n".
func (q *nsqQueue) loadMeta(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var wf, wp int64
	if _, err := fmt.Fscanf(f, "%d\n%d,%d\n%d,%d\n", &q.depth, &q.readFile, &q.readPos, &wf, &wp); err != nil {
		return fmt.Errorf("parse disk queue metadata %s: %w", path, err)
	}
	if q.readFile < 0 || q.readPos < 0 {
		return fmt.Errorf("disk queue metadata %s: negative read position", path)
	}
	return nil
}

func (q *nsqQueue) dataFile(dir string, num int64) string {
	return filepath.Join(dir, fmt.Sprintf("%s.diskqueue.%06d.dat", q.name, num))
}

// nsqRecordMax bounds the length a record may claim (NSQ's own bound is its
// --max-msg-size, which the import cannot know): larger is corruption.
const nsqRecordMax = 1 << 30

// errBadQueueFile marks a data file with a record that cannot be read.
var errBadQueueFile = errors.New("invalid record")

// read calls fn with the queue's unread records in order, at most batch
// records or batchBytes bytes at a time; each record is a fresh slice fn
// may keep. As NSQ's reader does, it reads every data file from the
// metadata's read position to its end (records written after the last
// sync included), and a record of impossible length ends that file
// (reported in bad; the next file is read). A file that ends inside a
// record (an unsynced tail) ends quietly.
func (q *nsqQueue) read(dir string, batch, batchBytes int, fn func([][]byte) error) (bad []string, err error) {
	var recs [][]byte
	size := 0
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		err := fn(recs)
		recs, size = nil, 0
		return err
	}
	for _, num := range q.dataFiles {
		if num < q.readFile {
			continue
		}
		var pos int64
		if num == q.readFile {
			pos = q.readPos
		}
		err := q.readFile1(q.dataFile(dir, num), pos, func(rec []byte) error {
			recs = append(recs, rec)
			size += len(rec)
			if len(recs) >= batch || size >= batchBytes {
				return flush()
			}
			return nil
		})
		if errors.Is(err, errBadQueueFile) {
			bad = append(bad, filepath.Base(q.dataFile(dir, num)))
			continue
		}
		if err != nil {
			return bad, err
		}
	}
	return bad, flush()
}

func (q *nsqQueue) readFile1(path string, pos int64, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < msgHeaderLength || n > nsqRecordMax {
			return fmt.Errorf("%w of %d bytes in %s", errBadQueueFile, n, path)
		}
		rec := make([]byte, n)
		if _, err := io.ReadFull(r, rec); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}
