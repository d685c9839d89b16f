package brokerlog

import (
	"sort"
)

// TopicInfo describes a topic as the applied log has it.
type TopicInfo struct {
	Name     string
	Paused   bool
	NextSeq  uint64 // sequence number of the next message; NextSeq-1 were published
	FirstSeq uint64 // oldest sequence number still in the log
	Channels []string
}

// ChannelInfo describes a channel cursor as the applied log has it.
type ChannelInfo struct {
	Topic, Channel string
	Paused         bool
	Floor          uint64 // every message below is finished
	NextSeq        uint64 // the topic's
	Finished       []Range
	Requeued       []Requeue // ascending by Seq
	Attempts       map[uint64]uint16
}

// Depth is how many messages of the channel are not finished.
func (c *ChannelInfo) Depth() uint64 {
	var done uint64
	for _, r := range c.Finished {
		done += r.Hi - r.Lo
	}
	return c.NextSeq - c.Floor - done
}

// Applied returns the index of the last applied entry.
func (s *State) Applied() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied
}

// Skipped returns how many entries were skipped because they did not decode.
func (s *State) Skipped() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bad
}

// Topics lists the topics, sorted by name.
func (s *State) Topics() []TopicInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]TopicInfo, 0, len(s.topics))
	for _, t := range s.topics {
		out = append(out, t.infoLocked())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Topic describes one topic.
func (s *State) Topic(name string) (TopicInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.topics[name]
	if t == nil {
		return TopicInfo{}, false
	}
	return t.infoLocked(), true
}

func (t *topicState) infoLocked() TopicInfo {
	ti := TopicInfo{Name: t.name, Paused: t.paused, NextSeq: t.nextSeq, FirstSeq: t.firstSeq}
	for name := range t.channels {
		ti.Channels = append(ti.Channels, name)
	}
	sort.Strings(ti.Channels)
	return ti
}

// Channel describes one channel's cursor (a copy).
func (s *State) Channel(topic, channel string) (ChannelInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.topics[topic]
	if t == nil || t.channels[channel] == nil {
		return ChannelInfo{}, false
	}
	c := t.channels[channel]
	ci := ChannelInfo{Topic: topic, Channel: channel, Paused: c.paused, Floor: c.floor, NextSeq: t.nextSeq,
		Finished: append([]Range(nil), c.done...), Attempts: make(map[uint64]uint16, len(c.attempts))}
	for _, r := range c.requeued {
		ci.Requeued = append(ci.Requeued, r)
	}
	sort.Slice(ci.Requeued, func(i, j int) bool { return ci.Requeued[i].Seq < ci.Requeued[j].Seq })
	for k, v := range c.attempts {
		ci.Attempts[k] = v
	}
	return ci, true
}

// markForLocked returns the last mark at or before seq (the place to start
// reading the log to find seq), and false if the topic has no mark there.
func (t *topicState) markForLocked(seq uint64) (mark, bool) {
	i := sort.Search(len(t.marks), func(k int) bool { return t.marks[k].seq > seq })
	if i == 0 {
		return mark{}, false
	}
	return t.marks[i-1], true
}

// markForTimeLocked returns a mark from which reading finds the first
// message with Timestamp ≥ ts: the last mark whose batch is older.
func (t *topicState) markForTimeLocked(ts int64) (mark, bool) {
	i := sort.Search(len(t.marks), func(k int) bool { return t.marks[k].ts >= ts })
	if i > 0 {
		i--
	}
	if len(t.marks) == 0 {
		return mark{}, false
	}
	return t.marks[i], true
}

// neededIndexLocked returns the lowest log index holding a message of the
// topic that some channel (or, with no channel, the topic's hold) has not
// finished; ok is false when nothing of the topic is needed.
func (t *topicState) neededIndexLocked() (uint64, bool) {
	low := t.nextSeq
	if len(t.channels) == 0 {
		low = max(t.holdFrom, t.firstSeq)
	}
	for _, c := range t.channels {
		low = min(low, c.floor)
	}
	// A floor below firstSeq (a channel created at "earliest" while a
	// compaction ran) needs nothing that is gone; it must not pin the log.
	low = max(low, t.firstSeq)
	if low >= t.nextSeq {
		return 0, false
	}
	m, ok := t.markForLocked(low)
	if !ok {
		return t.created, true
	}
	return m.index, true
}

// Unfinished counts the channel's messages at or above from that are not
// finished (what a reader at from has still to read); false if the channel
// does not exist. Cost: one pass over the finished ranges.
func (s *State) Unfinished(topic, channel string, from uint64) (uint64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.topics[topic]
	if t == nil || t.channels[channel] == nil {
		return 0, false
	}
	c := t.channels[channel]
	lo := max(from, c.floor)
	if lo >= t.nextSeq {
		return 0, true
	}
	n := t.nextSeq - lo
	for _, r := range c.done {
		if a, b := max(r.Lo, lo), min(r.Hi, t.nextSeq); a < b {
			n -= b - a
		}
	}
	return n, true
}
