package nsqd

import "testing"

func TestSmokePubSub(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	sub := subscribe(t, n, "t", "c", 10)
	publish(t, n, "t", "hello", "world")
	for _, want := range []string{"hello", "world"} {
		m := sub.readMsg()
		if m.body != want || m.attempts != 1 {
			t.Fatalf("got %+v, want %q attempt 1", m, want)
		}
		sub.cmd("FIN " + m.id)
	}
}
