package nsqadmin

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// logStorage runs a test nsqd in --storage=log, keeping finished
// messages for an hour so that they can be replayed.
func logStorage(tb testing.TB) func(*nsqd.Options) {
	return func(o *nsqd.Options) {
		o.Storage = nsqd.StorageLog
		if err := o.LogRetention.Set("1h"); err != nil {
			tb.Fatalf("--log-retention=1h: %v", err)
		}
	}
}

// TestBrowserRewindLog publishes N messages to a real nsqd in log
// storage, consumes and finishes them over TCP, rewinds the channel from
// the channel page (the confirmation must say N), and checks that the
// page shows depth N and that a consumer gets the N messages again.
// The same page of an nsqd in diskqueue mode shows why it cannot.
func TestBrowserRewindLog(t *testing.T) {
	const total = 25
	b := newBrowser(t)
	// on a loaded machine an upstream call can time out (502) while the
	// page refreshes; the page retries, and the checks are on what it
	// finally shows
	b.allow("Failed to load resource")
	l := lookupdtest.Start(t)
	c := &liveCluster{lookupd: l}
	c.nsqds = append(c.nsqds, startNSQD(t, l.RealTCPAddr().String(), logStorage(t)))
	c.createChannel(t, 0, "events", "work")
	c.publish(t, 0, "events", total)
	c.waitProducers(t, "events", 1)
	a := startAdmin(t, func(o *Options) {
		c.lookupdMode(o)
		o.HTTPClientRequestTimeout = 10 * time.Second // a loaded machine's nsqd may be slow; the page must not fail
	})

	var got atomic.Int64
	consumeAll := func(want int64, name string) {
		t.Helper()
		cons := c.consume(t, 0, "events", "work", name, func(*nsq.Message) error {
			got.Add(1)
			return nil
		})
		testutil.Eventually(t, 30*time.Second, func() bool {
			s := c.stats(t, 0, "events")
			return got.Load() == want && s != nil && s.Channels[0].Depth == 0 && s.Channels[0].InFlightCount == 0
		}, "%d messages consumed and finished", want)
		cons.Stop()
		<-cons.StopChan
	}
	consumeAll(total, "first")

	t.Run("rewind from the channel page", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/events/work", "channel")
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "0"`, "depth 0 before the rewind")
		if got := b.text(`[data-field="replay-retained"]`); !strings.Contains(got, "log storage on 1 node") {
			t.Errorf("retained note %q", got)
		}
		rewindInBrowser(t, b, total, "channel-rewind-confirm")
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "25"`, "depth 25 on the page after the rewind")
		if d := c.stats(t, 0, "events").Channels[0].Depth; d != total {
			t.Errorf("nsqd depth %d after the rewind, want %d", d, total)
		}
		b.screenshot("channel-rewound")
	})

	t.Run("the messages are delivered again", func(t *testing.T) {
		b.tb = t
		consumeAll(2*total, "second")
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "0"`, "depth 0 after consuming again")
	})

	t.Run("new channel from the earliest message", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/events", "topic")
		b.waitJS(`document.querySelector('button[data-action="new-channel"]') && !document.querySelector('button[data-action="new-channel"]').disabled`, "new channel enabled")
		evalJS[bool](b, `(() => { document.getElementById('nc-name').value = 'audit'; document.getElementById('nc-from').value = 'earliest'; return true; })()`)
		openConfirm(t, b, `button[data-action="new-channel"]`)
		if body := b.text(`#confirm-body [data-field="replay-count"]`); !strings.Contains(body, "25 messages will be delivered again") {
			t.Errorf("confirmation %q", body)
		}
		b.screenshot("topic-new-channel-confirm")
		b.click(`#confirm-ok`)
		b.waitJS(`document.querySelector('section[data-page="channel"][data-channel="audit"]')`, "the new channel's page")
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "25"`, "depth 25 on the new channel")
	})

	t.Run("diskqueue mode says why not", func(t *testing.T) {
		b.tb = t
		dq := &liveCluster{lookupd: l}
		dq.nsqds = append(dq.nsqds, startNSQD(t, l.RealTCPAddr().String()))
		dq.createChannel(t, 0, "plain", "work")
		dq.waitProducers(t, "plain", 1)
		b.open(a.url+"/topics/plain/work", "channel")
		b.waitJS(`document.querySelector('[data-field="replay-reason"]')`, "the reason")
		if got := b.text(`[data-field="replay-reason"]`); !strings.Contains(got, "--storage=log") || !strings.Contains(got, "1 with --storage=diskqueue") {
			t.Errorf("reason %q", got)
		}
		if !evalJS[bool](b, `document.querySelector('button[data-action="rewind"]').disabled`) {
			t.Error("rewind enabled in diskqueue mode")
		}
		b.screenshot("channel-rewind-disabled")
	})
	b.tb = t
	b.noConsoleErrors()
}
