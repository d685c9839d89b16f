package protocol

import (
	"bytes"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		line string
		want []string
	}{
		{"PUB t", []string{"PUB", "t"}},
		{"PUB  t", []string{"PUB", "", "t"}},
		{" NOP", []string{"", "NOP"}},
		{"NOP", []string{"NOP"}},
		{"", []string{""}},
		{"REQ id ", []string{"REQ", "id", ""}},
	}
	for _, c := range cases {
		var p Params
		p.Split([]byte(c.line))
		if p.Len() != len(c.want) {
			t.Fatalf("%q: %d tokens, want %d", c.line, p.Len(), len(c.want))
		}
		for i, w := range c.want {
			if string(p.At(i)) != w {
				t.Errorf("%q token %d = %q, want %q", c.line, i, p.At(i), w)
			}
		}
	}
	var p Params
	p.Split([]byte("a b c d e f g h i j"))
	if p.Len() != MaxParams || !p.Extra {
		t.Errorf("long line: len %d extra %v", p.Len(), p.Extra)
	}
}

func TestParseUint(t *testing.T) {
	cases := []struct {
		in string
		v  uint64
		ok bool
	}{
		{"0", 0, true}, {"", 0, true}, {"2500", 2500, true}, {"-1", 0, false},
		{"+1", 0, false}, {"1x", 0, false}, {"18446744073709551616", 0, false},
	}
	for _, c := range cases {
		v, ok := ParseUint([]byte(c.in))
		if v != c.v || ok != c.ok {
			t.Errorf("ParseUint(%q) = %d, %v; want %d, %v", c.in, v, ok, c.v, c.ok)
		}
	}
}

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFrame(&b, FrameTypeResponse, OK); err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 6, 0, 0, 0, 0, 'O', 'K'}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("WriteFrame = %v, want %v", b.Bytes(), want)
	}
	if got := AppendFrame(nil, FrameTypeResponse, OK); !bytes.Equal(got, want) {
		t.Errorf("AppendFrame = %v, want %v", got, want)
	}
	b.Reset()
	WriteV1Reply(&b, OK)
	if !bytes.Equal(b.Bytes(), []byte{0, 0, 0, 2, 'O', 'K'}) {
		t.Errorf("WriteV1Reply = %v", b.Bytes())
	}
	if TrimLine([]byte("X\r\n")) == nil || string(TrimLine([]byte("X\r\n"))) != "X" {
		t.Error("TrimLine")
	}
	e := NewFatal(ErrBadProtocol, "")
	if e.Error() != "E_BAD_PROTOCOL" {
		t.Error(e.Error())
	}
}
