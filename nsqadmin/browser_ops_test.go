package nsqadmin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
)

// TestBrowserDeadLettersAndPeek walks a poison message into the
// dead-letter topic through the channel page's setting, peeks the channel
// (its depth unchanged), and replays the dead letter.
func TestBrowserDeadLettersAndPeek(t *testing.T) {
	b := newBrowser(t)
	c := startLiveCluster(t, 1)
	c.createChannel(t, 0, "jobs", "work")
	for _, body := range []string{"job 1", "job 2", "<b>poison</b> \x00\x01"} {
		resp, err := http.Post("http://"+c.node(0)+"/pub?topic=jobs", "text/plain", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("pub: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	c.waitProducers(t, "jobs", 1)
	a := startAdmin(t, func(o *Options) {
		c.lookupdMode(o)
		o.HistoryInterval = 200 * time.Millisecond
		o.HistoryDuration = 10 * time.Minute
	})
	channelPage := a.url + "/topics/jobs/work"

	t.Run("peek leaves the channel as it was", func(t *testing.T) {
		b.tb = t
		before := c.stats(t, 0, "jobs").Channels[0]
		b.open(channelPage, "channel")
		b.click(`#peek-panel summary`)
		b.waitJS(`document.querySelectorAll('table[data-table="peek"] tbody tr').length === 3`, "three peeked messages")
		if got := b.text(`table[data-table="peek"] tbody tr:nth-child(3) .preview`); got != `<b>poison</b> \x00\x01` {
			t.Errorf("preview %q (escaped, non-printable bytes as \\xNN)", got)
		}
		if n := evalJS[int](b, `document.querySelectorAll('table[data-table="peek"] .preview b').length`); n != 0 {
			t.Errorf("a body was rendered as HTML")
		}
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "3"`, "depth tile 3")
		after := c.stats(t, 0, "jobs").Channels[0]
		if before.Depth != 3 || after != before {
			t.Errorf("channel before %+v, after peeking %+v", before, after)
		}
		b.screenshot("channel-peek")
	})

	t.Run("a poison message goes to the dead-letter topic", func(t *testing.T) {
		b.tb = t
		b.open(channelPage, "channel")
		b.waitJS(`document.querySelector('form[data-form="dead-letter-config"]')`, "dead-letter form")
		evalJS[bool](b, `(() => { document.getElementById('dl-max').value = '2'; return true; })()`)
		evalJS[bool](b, `(() => { document.querySelector('form[data-form="dead-letter-config"]').requestSubmit(); return true; })()`)
		b.waitJS(`document.querySelector('[data-field="max-attempts"]') && document.querySelector('[data-field="max-attempts"]').innerText.trim() === "2"`, "max attempts 2 shown")
		if got := b.text(`[data-field="dead-letter-topic"]`); got != "jobs.dead" {
			t.Errorf("dead-letter topic shown %q", got)
		}
		cons := c.consume(t, 0, "jobs", "work", "worker", func(m *nsq.Message) error {
			if strings.HasPrefix(string(m.Body), "job") {
				return nil
			}
			m.DisableAutoResponse()
			m.RequeueWithoutBackoff(0)
			return nil
		})
		b.waitJS(`document.querySelectorAll('table[data-table="dead-letters"] tbody tr').length === 1`, "one dead letter listed")
		cons.Stop()
		<-cons.StopChan
		row := b.text(`table[data-table="dead-letters"] tbody tr`)
		if !strings.Contains(row, `<b>poison</b> \x00\x01`) || !strings.Contains(row, "127.0.0.1") {
			t.Errorf("dead-letter row %q", row)
		}
		if got := b.text(`[data-tile="dead_letters"] .tile-value`); got != "1" {
			t.Errorf("dead letters tile %q", got)
		}
		testutil.Eventually(t, 10*time.Second, func() bool {
			d := c.stats(t, 0, "jobs.dead")
			return d != nil && d.Depth == 1
		}, "the message waits in jobs.dead")
		b.screenshot("channel-dead-letters")
	})

	t.Run("replay the dead letter", func(t *testing.T) {
		b.tb = t
		b.click(`table[data-table="dead-letters"] input[data-dead]`)
		b.click(`button[data-action="replay-selected"]`)
		b.waitJS(`document.getElementById('confirm').open`, "confirmation")
		if body := b.text(`#confirm-body`); !strings.Contains(body, "topic jobs") {
			t.Errorf("confirmation %q", body)
		}
		b.click(`#confirm-ok`)
		b.waitJS(`document.querySelector('[data-empty="dead-letters"]')`, "dead-letter list empty")
		testutil.Eventually(t, 10*time.Second, func() bool {
			return c.stats(t, 0, "jobs").Channels[0].Depth == 1
		}, "the replayed message waits in the channel again")
		b.click(`#peek-panel summary`)
		b.waitJS(`document.getElementById('peek-panel').open && document.querySelectorAll('table[data-table="peek"] tbody tr').length === 1`, "the replayed message peeked")
		if got := b.text(`table[data-table="peek"] tbody tr td:nth-child(3)`); got != "0" {
			t.Errorf("replayed attempts %q, want 0", got)
		}
		b.screenshot("channel-replayed")
	})

	t.Run("topic page shows lag", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/jobs", "topic")
		b.waitJS(`document.querySelector('tr[data-channel="work"] [data-field="dead_letters"]') && document.querySelector('tr[data-channel="work"] [data-field="dead_letters"]').innerText.trim() === "1"`, "dead letters column")
		b.waitJS(`document.querySelector('tr[data-channel="work"] [data-field="fin_latency"]').innerText.includes('p')`, "FIN latency column")
		b.waitJS(`document.querySelector('svg[data-chart="topic-oldest"]')`, "oldest-age chart")
		b.screenshot("topic-lag")
	})
	b.tb = t
	b.noConsoleErrors()
}
