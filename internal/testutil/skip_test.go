package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    bool
		wantErr bool
	}{
		{"", false, false},
		{"1", true, false},
		{"true", true, false},
		{"TRUE", true, false},
		{"0", false, false},
		{"false", false, false},
		{"yes", false, true},
		{"2", false, true},
	} {
		t.Setenv("NSQ_TEST_REQUIRED", tc.value)
		got, err := Required("NSQ_TEST_REQUIRED")
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Required with %q = %v, %v; want %v, error %v", tc.value, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSkipWritesLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "skipped.txt")
	t.Setenv(SkipLogEnv, log)
	t.Setenv("NSQ_TEST_REQUIRED", "")
	t.Run("skipped", func(t *testing.T) {
		Missing(t, "NSQ_TEST_REQUIRED", "widget is not installed", "apt-get install widget")
		t.Error("Missing returned instead of skipping")
	})
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := "internal/testutil\tTestSkipWritesLog/skipped\twidget is not installed (apt-get install widget); " +
		"set NSQ_TEST_REQUIRED=1 to make this a failure\n"
	if string(b) != want {
		t.Fatalf("skip log:\n%q\nwant\n%q", b, want)
	}
}

func TestJSONKind(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{{nil, "null"}, {map[string]any{}, "object"}, {[]any{}, "array"}, {"x", "string"},
		{1.5, "number"}, {json.Number("2"), "number"}, {true, "bool"}, {3, "int"}} {
		if got := JSONKind(tc.v); got != tc.want {
			t.Errorf("JSONKind(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
