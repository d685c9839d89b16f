package brokerlog

import (
	"fmt"
	"sort"
)

// ReadSeqs returns the messages of topic with the given sequence numbers,
// in ascending order, reading the applied log once from the lowest. A
// sequence number the log no longer holds (compacted, or not published)
// is left out. Used on restart to load a channel's requeued messages,
// which Readers skip. Safe for concurrent use.
func (e *Engine) ReadSeqs(topic string, seqs []uint64) ([]Delivery, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	want := append([]uint64(nil), seqs...)
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	s := e.state
	s.mu.RLock()
	t := s.topics[topic]
	if t == nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("%w: topic %s", ErrGone, topic)
	}
	from := max(want[0], t.firstSeq)
	m, ok := t.markForLocked(from)
	hi := s.applied + 1
	s.mu.RUnlock()
	if !ok {
		return nil, nil
	}
	var out []Delivery
	i := 0
	_, err := e.scanTopic(topic, scanPos{m.index, m.seq}, hi, nil, func(seq uint64, msg *Message) bool {
		for i < len(want) && want[i] < seq {
			i++
		}
		if i == len(want) {
			return false
		}
		if want[i] == seq {
			d := Delivery{Seq: seq, Message: *msg}
			d.Body = append([]byte(nil), msg.Body...)
			out = append(out, d)
		}
		return true
	})
	return out, err
}
