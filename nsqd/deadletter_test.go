package nsqd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func jsonInto(tb testing.TB, body string, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		tb.Fatalf("JSON %q: %s", body, err)
	}
}

func getDead(tb testing.TB, n *NSQD, topic, channel string) DeadLetters {
	tb.Helper()
	code, body, _ := httpDo(tb, n, "GET", "/channel/dead?topic="+topic+"&channel="+channel, "")
	if code != 200 {
		tb.Fatalf("/channel/dead: %d %s", code, body)
	}
	var d DeadLetters
	jsonInto(tb, body, &d)
	return d
}

// TestDeadLetterAtMaxAttempts delivers a poison message --max-attempts
// times; the next delivery goes to <topic>.dead instead, with the body and
// attempts unchanged, a fresh ID and its origin in /channel/dead.
func TestDeadLetterAtMaxAttempts(t *testing.T) {
	opts := testOptions(t)
	opts.MaxAttempts = 2
	n := startNSQD(t, opts)
	sub := subscribe(t, n, "orders", "billing", 1)
	publish(t, n, "orders", "poison")
	first := sub.readMsg()
	sub.cmd("REQ " + first.id + " 0")
	second := sub.readMsg()
	if second.id != first.id || second.attempts != 2 {
		t.Fatalf("second delivery %+v", second)
	}
	sub.cmd("REQ " + second.id + " 0")
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "orders", "billing")
		return cs.DeadLetterCount == 1 && cs.Depth == 0 && cs.InFlightCount == 0
	}, "dead letter counted, channel empty")
	cs := channelStatsOf(t, n, "orders", "billing")
	if cs.MaxAttempts != 2 || cs.DeadLetterTopic != "orders.dead" {
		t.Errorf("stats: max_attempts %d dead_letter_topic %q", cs.MaxAttempts, cs.DeadLetterTopic)
	}

	dl := subscribe(t, n, "orders.dead", "ops", 1)
	m := dl.readMsg()
	if m.body != "poison" || m.attempts != 3 || m.id == first.id || m.ts != first.ts {
		// attempts: the 2 made before plus this delivery
		t.Fatalf("dead letter %+v, original %+v", m, first)
	}
	dl.cmd("REQ " + m.id + " 0") // the daemon-wide limit does not apply to a dead-letter topic
	if again := dl.readMsg(); again.id != m.id {
		t.Fatalf("redelivered %+v", again)
	}

	d := getDead(t, n, "orders", "billing")
	if d.DeadLetterCount != 1 || len(d.DeadLetters) != 1 {
		t.Fatalf("ledger %+v", d)
	}
	r := d.DeadLetters[0]
	if r.ID != m.id || r.OriginalID != first.id || r.Topic != "orders" || r.Channel != "billing" ||
		r.DeadLetterTopic != "orders.dead" || r.Attempts != 2 || string(r.Body) != "poison" ||
		r.Preview != "poison" || r.Timestamp != first.ts || r.DeadAt < first.ts {
		t.Fatalf("record %+v", r)
	}
}

// TestDeadLetterIDsDifferFromOriginals: every topic has its own ID
// factory, and within one time unit the dead-letter topic's first IDs are
// the ones the original topic gave its first messages, so a "fresh" ID
// taken without care is often the original's (TestDeadLetterAtMaxAttempts
// failed that way when it ran within a millisecond).
func TestDeadLetterIDsDifferFromOriginals(t *testing.T) {
	for range 100 {
		orig := make([]Message, 3)
		if err := newGUIDFactory(7).fill(orig); err != nil {
			t.Fatal(err)
		}
		block := make([]Message, len(orig))
		if err := freshIDs(newGUIDFactory(7), block, []*Message{&orig[0], &orig[1], &orig[2]}); err != nil {
			t.Fatal(err)
		}
		seen := map[MessageID]bool{}
		for i := range block {
			if block[i].ID == orig[i].ID {
				t.Fatalf("dead letter %d has its original's ID %s", i, block[i].ID[:])
			}
			if seen[block[i].ID] {
				t.Fatalf("ID %s given twice", block[i].ID[:])
			}
			seen[block[i].ID] = true
		}
	}
}

// TestChannelConfigPersisted sets a channel's limit and dead-letter topic,
// reads them back, and finds them again after a restart, in both storage
// modes (nsqd.dat, or logSettingsFile beside the log).
func TestChannelConfigPersisted(t *testing.T) {
	for _, mode := range []struct{ storage, file string }{{StorageDiskQueue, metadataFile}, {StorageLog, logSettingsFile}} {
		t.Run(mode.storage, func(t *testing.T) { testChannelConfigPersisted(t, mode.storage, mode.file) })
	}
}

func testChannelConfigPersisted(t *testing.T, storage, file string) {
	opts := testOptions(t)
	opts.Storage = storage
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go n.Main()
	httpDo(t, n, "POST", "/topic/create?topic=jobs", "")
	httpDo(t, n, "POST", "/channel/create?topic=jobs&channel=work", "")
	code, body, _ := httpDo(t, n, "POST", "/channel/config?topic=jobs&channel=work", `{"max_attempts": 3, "dead_letter_topic": "jobs-poison"}`)
	if code != 200 {
		t.Fatalf("POST: %d %s", code, body)
	}
	var cfg ChannelConfig
	jsonInto(t, body, &cfg)
	want := ChannelConfig{Topic: "jobs", Channel: "work", MaxAttempts: 3, ChannelMaxAttempts: 3,
		DeadLetterTopic: "jobs-poison", ChannelDeadLetterTopic: "jobs-poison"}
	if cfg != want {
		t.Fatalf("got %+v want %+v", cfg, want)
	}
	data, _ := os.ReadFile(filepath.Join(opts.DataPath, file))
	if !strings.Contains(string(data), `"max_attempts":3,"dead_letter_topic":"jobs-poison"`) {
		t.Fatalf("%s: %s", file, data)
	}
	n.Exit()

	n2 := startNSQD(t, opts)
	code, body, _ = httpDo(t, n2, "GET", "/channel/config?topic=jobs&channel=work", "")
	cfg = ChannelConfig{}
	jsonInto(t, body, &cfg)
	if code != 200 || cfg != want {
		t.Fatalf("after restart: %d %+v", code, cfg)
	}
	// fields left out keep their value; 0 and "" are the defaults again
	_, body, _ = httpDo(t, n2, "POST", "/channel/config?topic=jobs&channel=work", `{"max_attempts": 0}`)
	cfg = ChannelConfig{}
	jsonInto(t, body, &cfg)
	if cfg.MaxAttempts != 0 || cfg.DeadLetterTopic != "jobs-poison" {
		t.Fatalf("partial update: %+v", cfg)
	}
	_, body, _ = httpDo(t, n2, "POST", "/channel/config?topic=jobs&channel=work", `{"dead_letter_topic": ""}`)
	cfg = ChannelConfig{}
	jsonInto(t, body, &cfg)
	if cfg.DeadLetterTopic != "jobs.dead" || cfg.ChannelDeadLetterTopic != "" {
		t.Fatalf("reset: %+v", cfg)
	}
	data, _ = os.ReadFile(filepath.Join(opts.DataPath, file))
	if strings.Contains(string(data), "max_attempts") || strings.Contains(string(data), "dead_letter") {
		t.Fatalf("defaults are left out of %s: %s", file, data)
	}
}

// TestOpsBadInput: every refused request answers 400/404 with a code and
// changes nothing.
func TestOpsBadInput(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	httpDo(t, n, "POST", "/topic/create?topic=src", "")
	httpDo(t, n, "POST", "/channel/create?topic=src&channel=c", "")
	publish(t, n, "src", "one")
	httpDo(t, n, "POST", "/channel/config?topic=src&channel=c", `{"max_attempts": 5}`)
	before := getStats(t, n, "")
	for _, tc := range []struct {
		method, path, body string
		code               int
		text               string
	}{
		{"GET", "/channel/config?topic=nope&channel=c", "", 404, "TOPIC_NOT_FOUND"},
		{"GET", "/channel/config?topic=src&channel=nope", "", 404, "CHANNEL_NOT_FOUND"},
		{"GET", "/channel/config?topic=src", "", 400, "MISSING_ARG_CHANNEL"},
		{"GET", "/channel/config?topic=bad!&channel=c", "", 400, "INVALID_ARG_TOPIC"},
		{"POST", "/channel/config?topic=src&channel=nope", `{"max_attempts": 1}`, 404, "CHANNEL_NOT_FOUND"},
		{"POST", "/channel/config?topic=src&channel=c", `{"dead_letter_topic": "src"}`, 400, "DEAD_LETTER_TOPIC_LOOP"},
		{"POST", "/channel/config?topic=src&channel=c", `{"dead_letter_topic": "no spaces"}`, 400, "INVALID_DEAD_LETTER_TOPIC"},
		{"POST", "/channel/config?topic=src&channel=c", `{"dead_letter_topic": "` + strings.Repeat("x", 65) + `"}`, 400, "INVALID_DEAD_LETTER_TOPIC"},
		{"POST", "/channel/config?topic=src&channel=c", `{"max_attempts": -1}`, 400, "INVALID_MAX_ATTEMPTS"},
		{"POST", "/channel/config?topic=src&channel=c", `{"max_attempts": 65536}`, 400, "INVALID_MAX_ATTEMPTS"},
		{"POST", "/channel/config?topic=src&channel=c", `{"max_attempts": 2, "extra": 1}`, 400, "INVALID_BODY"},
		{"POST", "/channel/config?topic=src&channel=c", `{"max_attempts": "2"}`, 400, "INVALID_BODY"},
		{"POST", "/channel/config?topic=src&channel=c", `not json`, 400, "INVALID_BODY"},
		{"GET", "/channel/peek?topic=nope&channel=c", "", 404, "TOPIC_NOT_FOUND"},
		{"GET", "/channel/peek?topic=src&channel=nope", "", 404, "CHANNEL_NOT_FOUND"},
		{"GET", "/channel/peek?topic=src&channel=c&n=0", "", 400, "INVALID_ARG_N"},
		{"GET", "/channel/peek?topic=src&channel=c&n=101", "", 400, "INVALID_ARG_N"},
		{"GET", "/channel/peek?topic=src&channel=c&n=x", "", 400, "INVALID_ARG_N"},
		{"GET", "/channel/dead?topic=src&channel=nope", "", 404, "CHANNEL_NOT_FOUND"},
		{"GET", "/channel/dead?topic=src&channel=c&n=1001", "", 400, "INVALID_ARG_N"},
		{"POST", "/channel/dead/replay?topic=src&channel=c", `{}`, 400, "MISSING_ARG_IDS"},
		{"POST", "/channel/dead/replay?topic=src&channel=c", `{"all": true, "ids": ["x"]}`, 400, "MISSING_ARG_IDS"},
		{"POST", "/channel/dead/replay?topic=src&channel=c", `{"all": true, "to": "elsewhere"}`, 400, "INVALID_ARG_TO"},
		{"POST", "/channel/dead/replay?topic=src&channel=c", `{"ids": ["0000000000000000"]}`, 404, "DEAD_LETTER_NOT_FOUND"},
		{"POST", "/channel/dead/replay?topic=nope&channel=c", `{"all": true}`, 404, "TOPIC_NOT_FOUND"},
	} {
		code, body, _ := httpDo(t, n, tc.method, tc.path, tc.body)
		if code != tc.code || body != `{"message":"`+tc.text+`"}` {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, code, body, tc.code, tc.text)
		}
	}
	_, body, _ := httpDo(t, n, "GET", "/channel/config?topic=src&channel=c", "")
	var cfg ChannelConfig
	jsonInto(t, body, &cfg)
	if cfg.MaxAttempts != 5 || cfg.DeadLetterTopic != "src.dead" {
		t.Errorf("config changed: %+v", cfg)
	}
	after := getStats(t, n, "")
	if len(after.Topics) != len(before.Topics) || after.Topics[0].Channels[0].Depth != 1 || len(after.Topics[0].Channels) != 1 {
		t.Errorf("state changed: %+v", after.Topics)
	}
}

// TestDeadLetterReplay replays a dead letter to its channel and another
// to the whole topic; both are delivered again with fresh IDs and 1
// attempt, and leave the ledger.
func TestDeadLetterReplay(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	httpDo(t, n, "POST", "/topic/create?topic=r", "")
	httpDo(t, n, "POST", "/channel/create?topic=r&channel=other", "")
	sub := subscribe(t, n, "r", "c", 1)
	httpDo(t, n, "POST", "/channel/config?topic=r&channel=c", `{"max_attempts": 1, "dead_letter_topic": "r-dlq"}`)
	publish(t, n, "r", "a", "b")
	for i := 0; i < 2; i++ {
		m := sub.readMsg()
		sub.cmd("REQ " + m.id + " 0")
	}
	eventually(t, func() bool { return channelStatsOf(t, n, "r", "c").DeadLetterCount == 2 }, "two dead letters")
	d := getDead(t, n, "r", "c")
	if len(d.DeadLetters) != 2 || d.DeadLetterTopic != "r-dlq" {
		t.Fatalf("ledger %+v", d)
	}
	code, body, _ := httpDo(t, n, "POST", "/channel/dead/replay?topic=r&channel=c", `{"ids": ["`+d.DeadLetters[0].ID+`"], "to": "channel"}`)
	if code != 200 || body != `{"replayed":1}` {
		t.Fatalf("replay: %d %s", code, body)
	}
	m := sub.readMsg()
	if m.body != string(d.DeadLetters[0].Body) || m.attempts != 1 || m.id == d.DeadLetters[0].OriginalID {
		t.Fatalf("replayed %+v", m)
	}
	sub.cmd("FIN " + m.id)
	other := channelStatsOf(t, n, "r", "other").Depth
	code, body, _ = httpDo(t, n, "POST", "/channel/dead/replay?topic=r&channel=c", `{"all": true}`)
	if code != 200 || body != `{"replayed":1}` {
		t.Fatalf("replay all: %d %s", code, body)
	}
	if m := sub.readMsg(); m.body != string(d.DeadLetters[1].Body) {
		t.Fatalf("replayed %+v", m)
	}
	if got := channelStatsOf(t, n, "r", "other").Depth; got != other+1 {
		t.Errorf("to the topic: channel other depth %d, want %d", got, other+1)
	}
	if left := getDead(t, n, "r", "c").DeadLetters; len(left) != 0 {
		t.Errorf("ledger after replay: %+v", left)
	}
}
