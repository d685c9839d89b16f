package brokerlog

import (
	"errors"
	"reflect"
	"testing"

	"github.com/dropin/nsq/internal/logstore"
)

func TestPublishRoundTrip(t *testing.T) {
	p := Publish{Topic: "orders", Messages: []Message{
		{ID: [16]byte{1, 2, 3}, Timestamp: 1700000000123456789, Deferral: 0, Attempts: 0, Body: []byte("hello")},
		{ID: [16]byte{15: 9}, Timestamp: -5, Deferral: 30e9, Attempts: 65535, Body: []byte{}},
	}}
	got, err := DecodePublish(p.Encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Topic != p.Topic || len(got.Messages) != 2 {
		t.Fatalf("got %+v", got)
	}
	for i := range p.Messages {
		a, b := p.Messages[i], got.Messages[i]
		if a.ID != b.ID || a.Timestamp != b.Timestamp || a.Deferral != b.Deferral || a.Attempts != b.Attempts || string(a.Body) != string(b.Body) {
			t.Fatalf("message %d: %+v != %+v", i, b, a)
		}
	}
	if got.Messages[1].Due() != -5+30e9 {
		t.Fatalf("due %d", got.Messages[1].Due())
	}
}

func TestChannelOpAndStateRoundTrip(t *testing.T) {
	op := ChannelOp{Topic: "t", Channel: "c#ephemeral", Start: Start{Mode: StartSeq, Seq: 42}}
	got, err := DecodeChannelOp(op.Encode(nil))
	if err != nil || got != op {
		t.Fatalf("channel op %+v %v", got, err)
	}
	states := []ChannelState{
		{Topic: "t", Channel: "a", Finished: []Range{{1, 5}, {7, 8}, {100, 1000}},
			Requeued: []Requeue{{Seq: 6, Due: 123, Attempts: 2}}, Attempts: []Attempt{{Seq: 9, Attempts: 1}}},
		{Topic: "u", Channel: "b"},
	}
	gs, err := DecodeChannelStates(EncodeChannelStates(nil, states))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gs[0], states[0]) || gs[1].Topic != "u" || gs[1].Channel != "b" {
		t.Fatalf("states %+v", gs)
	}
	name, err := DecodeTopicOp(EncodeTopicOp(nil, "x"))
	if err != nil || name != "x" {
		t.Fatalf("topic op %q %v", name, err)
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	p := Publish{Topic: "t", Messages: []Message{{Body: []byte("abc")}}}
	good := p.Encode(nil)
	for cut := 0; cut < len(good); cut++ {
		if _, err := DecodePublish(good[:cut]); !errors.Is(err, ErrBadEntry) {
			t.Fatalf("truncated at %d: %v", cut, err)
		}
	}
	if _, err := DecodePublish(append(good, 0)); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("trailing byte: %v", err)
	}
	huge := []byte{1, 't', 0xff, 0xff, 0xff, 0xff, 0x0f} // count 4G in a 7-byte payload
	if _, err := DecodePublish(huge); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("huge count: %v", err)
	}
	if err := Validate(99, nil); err == nil {
		t.Fatal("unknown kind validated")
	}
}

// FuzzEntries: no payload makes a decoder panic or allocate beyond its
// size, and whatever decodes re-encodes to the same bytes.
func FuzzEntries(f *testing.F) {
	p := Publish{Topic: "t", Messages: []Message{{ID: [16]byte{1}, Timestamp: 5, Body: []byte("x")}}}
	f.Add(uint8(KindPublish), p.Encode(nil))
	op := ChannelOp{Topic: "t", Channel: "c", Start: Start{Mode: StartEarliest}}
	f.Add(uint8(KindChannelCreate), op.Encode(nil))
	f.Add(uint8(KindTopicCreate), EncodeTopicOp(nil, "t"))
	f.Add(uint8(KindChannelState), EncodeChannelStates(nil, []ChannelState{{Topic: "t", Channel: "c", Finished: []Range{{1, 3}},
		Requeued: []Requeue{{Seq: 4, Due: 9, Attempts: 1}}, Attempts: []Attempt{{5, 2}}}}))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		if logstore.Kind(kind) == KindPublish {
			p, perr := DecodePublish(data)
			topic, n, _, serr := publishSummary(data)
			if (perr == nil) != (serr == nil) || perr == nil && (topic != p.Topic || n != len(p.Messages)) {
				t.Fatalf("publishSummary disagrees with DecodePublish: %v / %v", serr, perr)
			}
		}
		if Validate(logstore.Kind(kind), data) != nil {
			return
		}
		var re []byte
		switch k := logstore.Kind(kind); {
		case k == KindPublish:
			p, _ := DecodePublish(data)
			re = p.Encode(nil)
		case k >= KindTopicCreate && k <= KindTopicEmpty:
			n, _ := DecodeTopicOp(data)
			re = EncodeTopicOp(nil, n)
		case k >= KindChannelCreate && k <= KindChannelRewind:
			op, _ := DecodeChannelOp(data)
			re = op.Encode(nil)
		case k == KindChannelState:
			s, _ := DecodeChannelStates(data)
			re = EncodeChannelStates(nil, s)
		default:
			return
		}
		// Varints have non-minimal encodings, so compare decoded forms.
		if Validate(logstore.Kind(kind), re) != nil {
			t.Fatalf("re-encoding does not decode")
		}
		s := newState()
		s.Apply([]logstore.Entry{{Index: 1, Term: 1, Kind: logstore.Kind(kind), Data: data}})
	})
}
