package protocol

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestCommandComplete(t *testing.T) {
	body := func(line string, size uint32, have string) []byte {
		b := append([]byte(line), 0, 0, 0, 0)
		binary.BigEndian.PutUint32(b[len(line):], size)
		return append(b, have...)
	}
	cases := []struct {
		name string
		in   []byte
		want bool
	}{
		{"empty", nil, false},
		{"partial line", []byte("NOP"), false},
		{"NOP", []byte("NOP\n"), true},
		{"FIN crlf", []byte("FIN 0123456789abcdef\r\n"), true},
		{"PUB no size", []byte("PUB t\n"), false},
		{"PUB half size", []byte("PUB t\n\x00\x00"), false},
		{"PUB body short", body("PUB t\n", 10, "x\ny"), false},
		{"PUB body whole", body("PUB t\n", 3, "x\ny"), true},
		{"PUB and more", body("PUB t\n", 1, "aNOP\n"), true},
		{"MPUB", body("MPUB t\n", 8, "\x00\x00\x00\x01\x00\x00\x00"), false},
		{"IDENTIFY", body("IDENTIFY\n", 2, "{}"), true},
		{"AUTH short", body("AUTH\n", 5, "abc"), false},
		{"negative size", body("PUB t\n", 0xffffffff, ""), true},
		{"zero size", body("DPUB t 1\n", 0, ""), true},
	}
	for _, tc := range cases {
		if got := CommandComplete(tc.in); got != tc.want {
			t.Errorf("%s: CommandComplete(%q) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestReadSized(t *testing.T) {
	for _, size := range []int{0, 1, readChunk, readChunk + 1, 5*readChunk + 3} {
		src := make([]byte, size+2)
		for i := range src {
			src[i] = byte(i)
		}
		got, err := ReadSized(bytes.NewReader(src), size)
		if err != nil || !bytes.Equal(got, src[:size]) {
			t.Errorf("size %d: %d bytes, %v", size, len(got), err)
		}
		if _, err := ReadSized(bytes.NewReader(src[:size/2]), size); size > 1 && err == nil {
			t.Errorf("size %d from %d bytes: no error", size, size/2)
		}
	}
}
