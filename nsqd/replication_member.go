package nsqd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/dropin/nsq/internal/replication"
)

// Which raft member id this node is in each of its groups (issue 15,
// "Lost disk"; docs/replication.md). A member id is MemberID(node, gen):
// generation 0 until the node loses its state for the group, then one
// more each time. A node that lost its state must not come back as the
// member it was (it would vote again in terms it voted in, and its old
// acknowledgements count in majorities for entries it no longer has): it
// joins as the next generation with a Join storage and the group's leader
// swaps the ids (replication_reconcile.go). Ids are never reused.
//
// What this node knows about itself is <data>/replication.json, written
// (fsynced) before a group's storage is created under a new id. What its
// peers know is asked over the replication transport
// (replication_control.go): each node records, per group, durably and
// before stepping it, the first message it receives from every member id
// (<group>/heard.json). A member whose votes or acknowledgements ever
// counted was heard by the node that counted them.

// replIdentityFile is the identity file in the data directory.
const replIdentityFile = "replication.json"

// replHeardFile lists, in a group's directory, the member ids this node
// received a message from in that group.
const replHeardFile = "heard.json"

// replIdentity is the identity file's content.
type replIdentity struct {
	NodeID uint64 `json:"node_id"`
	// Groups maps a group id to the member id this node runs (or last
	// ran) in it. Entries stay after the node leaves a group, so that a
	// later return takes a new generation.
	Groups map[string]uint64 `json:"groups"`
}

// loadReplIdentity reads the identity file; ok is false when there is none.
func loadReplIdentity(dataPath string) (id *replIdentity, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dataPath, replIdentityFile))
	if errors.Is(err, os.ErrNotExist) {
		return &replIdentity{Groups: map[string]uint64{}}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", replIdentityFile, err)
	}
	id = &replIdentity{}
	if err := json.Unmarshal(b, id); err != nil {
		return nil, false, fmt.Errorf("%s is damaged: %w", filepath.Join(dataPath, replIdentityFile), err)
	}
	if id.Groups == nil {
		id.Groups = map[string]uint64{}
	}
	return id, true, nil
}

// member returns the member id recorded for group g.
func (id *replIdentity) member(g uint64) (uint64, bool) {
	m, ok := id.Groups[strconv.FormatUint(g, 10)]
	return m, ok
}

func (id *replIdentity) set(g, member uint64) { id.Groups[strconv.FormatUint(g, 10)] = member }

// save writes the identity file: tmp, fsync, rename, fsync dir.
func (id *replIdentity) save(dataPath string) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSynced(dataPath, replIdentityFile, b)
}

// writeFileSynced replaces dir/name with data durably.
func writeFileSynced(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return syncDir(dir)
}

// gen returns a member id's generation.
func gen(member uint64) uint32 { return uint32(member >> 32) }

// replHeard is, per group, the member ids this node has received a
// message from. Safe for concurrent use.
type replHeard struct {
	mu   sync.Mutex // guards sets; held while a heard file is written
	dirs map[uint64]string
	sets map[uint64][]uint64
}

func newReplHeard() *replHeard {
	return &replHeard{dirs: map[uint64]string{}, sets: map[uint64][]uint64{}}
}

// open loads group g's heard file from dir (missing: none heard).
func (h *replHeard) open(g uint64, dir string) error {
	var ids []uint64
	b, err := os.ReadFile(filepath.Join(dir, replHeardFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &ids); err != nil {
			return fmt.Errorf("%s is damaged: %w", filepath.Join(dir, replHeardFile), err)
		}
	}
	h.mu.Lock()
	h.dirs[g], h.sets[g] = dir, ids
	h.mu.Unlock()
	return nil
}

// record notes a message from member in group g, writing the file first
// when member is new. It returns false when the write failed: the message
// must then be dropped (raft retries), since it might count.
func (h *replHeard) record(g, member uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	dir, ok := h.dirs[g]
	if !ok || member == 0 {
		return true
	}
	if slices.Contains(h.sets[g], member) {
		return true
	}
	ids := append(slices.Clone(h.sets[g]), member)
	slices.Sort(ids)
	b, _ := json.Marshal(ids)
	if err := writeFileSynced(dir, replHeardFile, b); err != nil {
		return false
	}
	h.sets[g] = ids
	return true
}

// of returns group g's heard set.
func (h *replHeard) of(g uint64) []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sets[g])
}

// replAnswer is what a peer tells about one group (replication_control.go).
type replAnswer struct {
	Group    uint64   `json:"group"`
	Known    bool     `json:"known"` // the peer runs the group
	Term     uint64   `json:"term"`
	Voters   []uint64 `json:"voters,omitempty"`
	Learners []uint64 `json:"learners,omitempty"`
	Heard    []uint64 `json:"heard,omitempty"`
}

// replJoinDecision is how this node starts in a group it has no state for.
type replJoinDecision struct {
	member  uint64
	join    bool // Join storage (the leader adds it) instead of Peers
	decided bool
	why     string
}

// decideMember decides, for group g with ring members ring, which member
// id node self takes when it has no state of its own for the group, from
// the answers of the other ring members received so far. allAnswered:
// every other ring member answered; waited: the short wait for answers
// is over. Undecided means keep asking.
//
//   - Some peer heard from a member of self, or lists a later generation
//     of it: self took part before and lost its state (a replaced disk):
//     join as the next generation.
//   - The group has run (a peer's term > 0), every other member answered
//     without having heard from self, and the configuration is still the
//     ring: self never took part; it starts as generation 0 (a late first
//     start).
//   - The group has run otherwise (a member is silent, or the
//     configuration changed): join as the next generation of what the
//     answers list (generation 0 only when every member answered and none
//     lists self: a node new to the group). The silent member may be the
//     one that counted self's votes or acknowledgements, and a new member
//     id never voted: joining is always safe; it completes once the group
//     has a leader.
//   - The group has not run as far as anyone answering knows (a new
//     cluster): generation 0 from the ring, once all answered or the
//     short wait is over.
func decideMember(self, g uint64, ring []uint64, answers map[uint64]replAnswer, allAnswered, waited bool) replJoinDecision {
	var (
		known   bool
		maxGen  uint32
		heard   bool
		running bool
		sameCfg = true
		inCfg   = true
	)
	note := func(ids []uint64) {
		for _, m := range ids {
			if replication.NodeOf(m) == self {
				if !known || gen(m) > maxGen {
					maxGen = gen(m)
				}
				known = true
			}
		}
	}
	sortedRing := slices.Sorted(slices.Values(ring))
	for _, a := range answers {
		if !a.Known {
			continue
		}
		note(a.Voters)
		note(a.Learners)
		for _, m := range a.Heard {
			if replication.NodeOf(m) == self {
				heard = true
			}
		}
		note(a.Heard)
		if a.Term > 0 {
			running = true
			if !slices.Equal(slices.Sorted(slices.Values(a.Voters)), sortedRing) || len(a.Learners) > 0 {
				sameCfg = false
			}
			if !slices.Contains(a.Voters, self) {
				inCfg = false
			}
		}
	}
	next := func() uint32 {
		switch {
		case known:
			return maxGen + 1
		case allAnswered:
			return 0
		}
		return 1 // a silent member may list generation 0
	}
	switch {
	case heard || (known && maxGen > 0):
		return replJoinDecision{member: replication.MemberID(self, next()), join: true, decided: true,
			why: "a peer knows an earlier incarnation of this node: its state was lost (replaced disk?)"}
	case running && allAnswered && sameCfg && inCfg:
		return replJoinDecision{member: self, decided: true, why: "the group ran without this node so far; it starts as its first incarnation"}
	case running && allAnswered:
		return replJoinDecision{member: replication.MemberID(self, next()), join: true, decided: true,
			why: "the group runs with another configuration: this node joins it"}
	case running:
		return replJoinDecision{member: replication.MemberID(self, next()), join: true, decided: true,
			why: "the group has run and not every member answered: this node joins under a new id (the group adds it once it has a leader)"}
	case allAnswered || waited:
		return replJoinDecision{member: self, decided: true, why: "new group"}
	}
	return replJoinDecision{why: "waiting for answers"}
}
