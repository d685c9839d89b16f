package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"sync"
)

// MemFS is a strict in-memory FS for power-cut tests. Safe for concurrent use.
//
// It keeps two views: the live one every call sees, and the durable one a
// power cut falls back to. File data moves to the durable view on File.Sync;
// directory entries of a directory (files and subdirectories created,
// renamed into or removed from it) on SyncDir of that directory. A file or
// directory whose parent directory is not durable is lost in a crash with
// everything below it. The root "/" and "." always exist.
type MemFS struct {
	mu sync.Mutex // guards everything below
	// live and durable map a cleaned path to its node; directories are nodes
	// with dir set. A node (inode) may be reachable from both views.
	live    map[string]*memNode
	durable map[string]*memNode
	gen     int // bumped by every crash; handles of older generations fail
}

type memNode struct {
	dir    bool
	data   []byte // live contents
	synced []byte // durable contents; never aliases bytes data may still change
}

// NewMemFS returns an empty strict MemFS.
func NewMemFS() *MemFS {
	m := &MemFS{live: map[string]*memNode{}, durable: map[string]*memNode{}}
	for _, root := range []string{"/", "."} {
		n := &memNode{dir: true}
		m.live[root] = n
		m.durable[root] = n
	}
	return m
}

func clean(name string) string { return path.Clean(name) }

func (m *MemFS) parentDirLocked(name string) error {
	p, ok := m.live[path.Dir(name)]
	if !ok || !p.dir {
		return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return nil
}

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.parentDirLocked(name); err != nil {
		return nil, err
	}
	if n, ok := m.live[name]; ok && n.dir {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	}
	// O_TRUNC on an existing file changes its inode, which becomes durable
	// on the file's next Sync; a new file needs SyncDir of its directory.
	n := &memNode{}
	if old, ok := m.live[name]; ok {
		old.truncateLocked(0)
		n = old
	}
	m.live[name] = n
	return &memFile{fs: m, n: n, name: name, gen: m.gen, write: true}, nil
}

func (m *MemFS) open(name string, write bool) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if n.dir {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("is a directory")}
	}
	return &memFile{fs: m, n: n, name: name, gen: m.gen, write: write}, nil
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) { return m.open(name, false) }

// OpenReadWrite implements FS.
func (m *MemFS) OpenReadWrite(name string) (File, error) { return m.open(name, true) }

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[name]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.dir && len(m.childrenLocked(m.live, name)) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: fmt.Errorf("directory not empty")}
	}
	delete(m.live, name)
	return nil
}

// Rename implements FS. Renaming directories is not supported.
func (m *MemFS) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[oldname]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	if n.dir {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fmt.Errorf("renaming directories is not supported")}
	}
	if err := m.parentDirLocked(newname); err != nil {
		return err
	}
	if t, ok := m.live[newname]; ok && t.dir {
		return &fs.PathError{Op: "rename", Path: newname, Err: fs.ErrExist}
	}
	delete(m.live, oldname)
	m.live[newname] = n
	return nil
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	var chain []string
	for d := dir; ; d = path.Dir(d) {
		if n, ok := m.live[d]; ok {
			if !n.dir {
				return &fs.PathError{Op: "mkdir", Path: d, Err: fmt.Errorf("not a directory")}
			}
			break
		}
		chain = append(chain, d)
	}
	for _, d := range chain {
		m.live[d] = &memNode{dir: true}
	}
	return nil
}

func (m *MemFS) childrenLocked(view map[string]*memNode, dir string) []string {
	var names []string
	for p := range view {
		if p != dir && path.Dir(p) == dir {
			names = append(names, path.Base(p))
		}
	}
	sort.Strings(names)
	return names
}

// List implements FS.
func (m *MemFS) List(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[dir]
	if !ok || !n.dir {
		return nil, &fs.PathError{Op: "list", Path: dir, Err: fs.ErrNotExist}
	}
	return m.childrenLocked(m.live, dir), nil
}

// SyncDir implements FS: the entries of dir (not their contents) become
// durable.
func (m *MemFS) SyncDir(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[dir]
	if !ok || !n.dir {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: fs.ErrNotExist}
	}
	for _, c := range m.childrenLocked(m.durable, dir) {
		delete(m.durable, path.Join(dir, c))
	}
	for _, c := range m.childrenLocked(m.live, dir) {
		p := path.Join(dir, c)
		m.durable[p] = m.live[p]
	}
	return nil
}

// CrashTorn simulates a power cut after which each file keeps a random
// prefix (possibly empty, possibly all) of its unsynced appended tail.
func (m *MemFS) CrashTorn(rng *rand.Rand) { m.crash(rng, false) }

// CrashGarbled is CrashTorn where, in addition, a few bytes of each kept
// unsynced tail are replaced by random ones, as when a sector is written
// half or the disk reorders writes. Synced bytes are never touched.
func (m *MemFS) CrashGarbled(rng *rand.Rand) { m.crash(rng, true) }

// Crash simulates a power cut: unsynced data and directory changes are lost,
// and every open handle fails from now on with ErrCrashed. Afterwards the
// MemFS is the rebooted disk: name-based calls (SyncDir, Create, ...) from
// code still running since before the cut act on it, which a real cut
// would have prevented by killing that code, so tests count only what was
// acknowledged before the cut.
func (m *MemFS) Crash() { m.crash(nil, false) }

func (m *MemFS) crash(rng *rand.Rand, garble bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	next := map[string]*memNode{}
	// Visit shorter paths first so parents are decided before children.
	paths := make([]string, 0, len(m.durable))
	for p := range m.durable {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) < len(paths[j]) })
	for _, p := range paths {
		n := m.durable[p]
		if p != "/" && p != "." {
			if _, ok := next[path.Dir(p)]; !ok {
				continue // parent directory was lost
			}
		}
		if !n.dir {
			keep := n.synced
			if rng != nil && len(n.data) > len(n.synced) && string(n.data[:len(n.synced)]) == string(n.synced) {
				extra := rng.IntN(len(n.data) - len(n.synced) + 1)
				keep = n.data[:len(n.synced)+extra]
			}
			data := append([]byte(nil), keep...)
			if garble && len(data) > len(n.synced) {
				for k := 0; k < 1+rng.IntN(3); k++ {
					data[len(n.synced)+rng.IntN(len(data)-len(n.synced))] = byte(rng.Uint32())
				}
			}
			n.data = data
			n.synced = append([]byte(nil), data...)
		}
		next[p] = n
	}
	m.live = next
	m.durable = make(map[string]*memNode, len(next))
	for p, n := range next {
		m.durable[p] = n
	}
}

// Files returns the live paths of all regular files, sorted (for tests).
func (m *MemFS) Files() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p, n := range m.live {
		if !n.dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// String lists the live files and their live/synced sizes (for test logs).
func (m *MemFS) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	var ps []string
	for p := range m.live {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	for _, p := range ps {
		if n := m.live[p]; !n.dir {
			fmt.Fprintf(&b, "%s %d/%d\n", p, len(n.data), len(n.synced))
		}
	}
	return b.String()
}

func (n *memNode) truncateLocked(size int64) {
	if int(size) <= len(n.data) {
		// Later appends will write into the array behind data[size:]; make
		// sure synced does not share it.
		if len(n.synced) > int(size) {
			n.synced = append([]byte(nil), n.synced...)
		}
		n.data = n.data[:size]
		return
	}
	n.data = append(n.data, make([]byte, int(size)-len(n.data))...)
}

type memFile struct {
	fs     *MemFS
	n      *memNode
	name   string
	gen    int
	write  bool
	closed bool
}

func (f *memFile) checkLocked(op string) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	if f.gen != f.fs.gen {
		return &fs.PathError{Op: op, Path: f.name, Err: ErrCrashed}
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("read"); err != nil {
		return 0, err
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[off:])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("write"); err != nil {
		return 0, err
	}
	if !f.write {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	f.n.data = append(f.n.data, p...)
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("sync"); err != nil {
		return err
	}
	// data only grows by appends; synced may share its array up to len(data)
	// because truncateLocked copies synced before bytes under it can change.
	f.n.synced = f.n.data[:len(f.n.data):len(f.n.data)]
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("truncate"); err != nil {
		return err
	}
	if !f.write {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrPermission}
	}
	f.n.truncateLocked(size)
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("stat"); err != nil {
		return 0, err
	}
	return int64(len(f.n.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}
