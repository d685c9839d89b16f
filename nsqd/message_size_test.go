package nsqd

import (
	"testing"
	"unsafe"
)

// TestMessageSize: every published message allocates a Message; keep it in
// Go's 112-byte size class (a field added in the wrong place, or a wider
// one, moves it to 128 or 144 bytes, a tenth more garbage per message).
func TestMessageSize(t *testing.T) {
	if s := unsafe.Sizeof(Message{}); s > 112 {
		t.Fatalf("Message is %d bytes, want at most 112", s)
	}
}
