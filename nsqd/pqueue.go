package nsqd

// msgHeap is a min-heap of messages by deadline, for the in-flight and
// deferred sets of a channel. Each message records its index so FIN, REQ
// and TOUCH can remove or fix it in O(log n). Not safe for concurrent use:
// the channel's lock guards it.
type msgHeap []*Message

func (h *msgHeap) push(m *Message) {
	m.index = int32(len(*h))
	*h = append(*h, m)
	h.up(len(*h) - 1)
}

// peek returns the message with the earliest deadline, or nil.
func (h msgHeap) peek() *Message {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

func (h *msgHeap) remove(i int) *Message {
	old := *h
	n := len(old) - 1
	m := old[i]
	if n != i {
		old.swap(i, n)
		old[n] = nil
		*h = old[:n]
		if !h.down(i) {
			h.up(i)
		}
	} else {
		old[n] = nil
		*h = old[:n]
	}
	m.index = -1
	return m
}

// fix restores the heap after m's deadline changed.
func (h msgHeap) fix(m *Message) {
	if !h.down(int(m.index)) {
		h.up(int(m.index))
	}
}

func (h msgHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = int32(i)
	h[j].index = int32(j)
}

func (h msgHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if h[i].deadline <= h[j].deadline {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h msgHeap) down(i0 int) bool {
	i := i0
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n || l < 0 {
			break
		}
		j := l
		if r := l + 1; r < n && h[r].deadline < h[l].deadline {
			j = r
		}
		if h[j].deadline >= h[i].deadline {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

// msgDeque is a growable ring buffer of messages: the in-memory queue of a
// topic or channel. Not safe for concurrent use.
type msgDeque struct {
	buf  []*Message
	head int
	n    int
}

func (q *msgDeque) len() int { return q.n }

func (q *msgDeque) grow() {
	size := 2 * len(q.buf)
	if size == 0 {
		size = 64
	}
	buf := make([]*Message, size)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}

func (q *msgDeque) pushBack(m *Message) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = m
	q.n++
}

func (q *msgDeque) pushFront(m *Message) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = m
	q.n++
}

func (q *msgDeque) popFront() *Message {
	if q.n == 0 {
		return nil
	}
	m := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return m
}

func (q *msgDeque) popBack() *Message {
	if q.n == 0 {
		return nil
	}
	i := (q.head + q.n - 1) % len(q.buf)
	m := q.buf[i]
	q.buf[i] = nil
	q.n--
	return m
}

// clear drops every message and releases a large buffer.
func (q *msgDeque) clear() {
	if len(q.buf) > 1024 {
		q.buf = nil
	} else {
		clear(q.buf)
	}
	q.head, q.n = 0, 0
}

// drain calls f for each message in order and empties the queue.
func (q *msgDeque) drain(f func(*Message)) {
	for q.n > 0 {
		f(q.popFront())
	}
}

// at returns the i-th message from the front (0 <= i < len).
func (q *msgDeque) at(i int) *Message { return q.buf[(q.head+i)%len(q.buf)] }
