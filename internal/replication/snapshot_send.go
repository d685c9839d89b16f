package replication

import (
	"errors"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// snapBuild is a raft snapshot being read and encoded off the loop: one
// with retained entries can be up to the frame limit, and reading that
// much on the loop would hold up heartbeats and commits of every
// proposal for as long (long enough, from a cold disk, for followers to
// start an election).
type snapBuild struct {
	index uint64 // the snapshot it is for
	done  bool
	snap  *pb.Snapshot
	err   error
}

// builtSnapshot hands out the built snapshot at index, or starts building
// it and answers raft.ErrSnapshotTemporarilyUnavailable. A build is handed
// out once (the next follower that needs it starts another), and dropped
// when a newer snapshot replaces it.
func (s *Storage) builtSnapshot(index uint64) (*pb.Snapshot, error) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	if b := s.build; b != nil && b.index == index {
		if !b.done {
			return nil, raft.ErrSnapshotTemporarilyUnavailable
		}
		s.build = nil
		if errors.Is(b.err, raft.ErrSnapshotTemporarilyUnavailable) {
			return nil, raft.ErrSnapshotTemporarilyUnavailable
		}
		if b.err != nil {
			if cur, _ := s.SnapshotIndex(); cur != index {
				// A newer snapshot compacted what this one read: build that one.
				return nil, raft.ErrSnapshotTemporarilyUnavailable
			}
			return nil, b.err
		}
		return b.snap, nil
	}
	b := &snapBuild{index: index}
	s.build = b
	s.buildWG.Add(1)
	go func() {
		defer s.buildWG.Done()
		snap, err := s.loadPBSnapshot(index)
		s.buildMu.Lock()
		b.snap, b.err, b.done = snap, err, true
		s.buildMu.Unlock()
	}()
	return nil, raft.ErrSnapshotTemporarilyUnavailable
}

// dropBuild forgets a finished build that a newer snapshot made stale.
func (s *Storage) dropBuild() {
	s.buildMu.Lock()
	if b := s.build; b != nil && b.done {
		s.build = nil
	}
	s.buildMu.Unlock()
}
