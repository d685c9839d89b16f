package brokerlog

import "sort"

// rangeSet is a set of sequence numbers kept as ascending, disjoint,
// non-adjacent half-open ranges. Not safe for concurrent use.
type rangeSet []Range

// add inserts [lo, hi), merging with neighbours.
func (s *rangeSet) add(lo, hi uint64) {
	if lo >= hi {
		return
	}
	r := *s
	// first range whose Hi ≥ lo (touching or overlapping counts)
	i := sort.Search(len(r), func(k int) bool { return r[k].Hi >= lo })
	j := i
	for j < len(r) && r[j].Lo <= hi {
		lo, hi = min(lo, r[j].Lo), max(hi, r[j].Hi)
		j++
	}
	if i == j {
		r = append(r, Range{})
		copy(r[i+1:], r[i:])
		r[i] = Range{lo, hi}
	} else {
		r[i] = Range{lo, hi}
		r = append(r[:i+1], r[j:]...)
	}
	*s = r
}

func (s rangeSet) contains(seq uint64) bool {
	i := sort.Search(len(s), func(k int) bool { return s[k].Hi > seq })
	return i < len(s) && s[i].Lo <= seq
}

// nextNotIn returns the smallest value ≥ seq not in the set.
func (s rangeSet) nextNotIn(seq uint64) uint64 {
	i := sort.Search(len(s), func(k int) bool { return s[k].Hi > seq })
	if i < len(s) && s[i].Lo <= seq {
		return s[i].Hi
	}
	return seq
}

func (s rangeSet) count() uint64 {
	var n uint64
	for _, r := range s {
		n += r.Hi - r.Lo
	}
	return n
}
