package names

import (
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	cases := []struct {
		name  string
		valid bool
	}{
		{".", true},
		{"a-b_c.d", true},
		{"x#ephemeral", true},
		{"#ephemeral", false},
		{"", false},
		{"a b", false},
		{"a:b", false},
		{"a/b", false},
		{"a#ephemeral#ephemeral", false},
		{"a#eph", false},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{strings.Repeat("a", 54) + "#ephemeral", true},
		{strings.Repeat("a", 55) + "#ephemeral", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsValidTopicName(c.name); got != c.valid {
				t.Errorf("IsValidTopicName(%q) = %v, want %v", c.name, got, c.valid)
			}
			if got := IsValidChannelName(c.name); got != c.valid {
				t.Errorf("IsValidChannelName(%q) = %v, want %v", c.name, got, c.valid)
			}
		})
	}
	if !IsEphemeral("a#ephemeral") || IsEphemeral("a") {
		t.Error("IsEphemeral wrong")
	}
}
