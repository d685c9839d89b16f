package version

import (
	"runtime"
	"testing"
)

func TestNumber(t *testing.T) {
	saved := Build
	t.Cleanup(func() { Build = saved })
	for _, tc := range []struct{ build, want string }{
		{"", Binary},
		{"1.3.0+e72cdc2-dirty", "1.3.0+e72cdc2-dirty"},
		{"v1.4.0", "1.4.0"},
		{" v1.4.0-2-gabcdef0\n", "1.4.0-2-gabcdef0"},
	} {
		Build = tc.build
		if got := Number(); got != tc.want {
			t.Errorf("Build %q: Number() = %q, want %q", tc.build, got, tc.want)
		}
	}
	Build = "1.4.0"
	if got, want := String("nsqd"), "nsqd v1.4.0 (built w/"+runtime.Version()+")"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := Line("nsq_tail"), "nsq_tail v1.4.0"; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}
