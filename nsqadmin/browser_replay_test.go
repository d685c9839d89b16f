package nsqadmin

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
	"github.com/dropin/nsq/internal/testutil"
)

// Browser tests of the replay forms and the replication panels against
// fake nsqds (the JSON of CONTRACTS A and C), so that they do not depend
// on a node in log mode or a replicated cluster; browser_log_test.go runs
// the rewind against a real nsqd in --storage=log.

// openConfirm clicks sel, a replay button, until the confirmation that
// follows its dry run opens: on a loaded machine the dry run can fail
// with a timeout (an error toast), and the person would click again.
func openConfirm(t *testing.T, b *browser, sel string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		evalJS[bool](b, `(() => { document.querySelectorAll('.toast-error').forEach((e) => e.remove()); return true; })()`)
		b.waitJS(`document.querySelector(`+jsQuote(sel)+`) && !document.querySelector(`+jsQuote(sel)+`).disabled`, sel+" enabled")
		b.click(sel)
		b.waitJS(`document.getElementById('confirm').open || document.querySelector('.toast-error')`, "confirmation or error after "+sel)
		if evalJS[bool](b, `document.getElementById('confirm').open`) {
			return
		}
		msg := b.text(`.toast-error`)
		if attempt == 3 {
			t.Fatalf("%s: no confirmation after %d tries: %s", sel, attempt, msg)
		}
		t.Logf("%s: try %d failed: %s", sel, attempt, msg)
	}
}

// rewindInBrowser rewinds the open channel page to the earliest retained
// message and checks that the confirmation, shown after the dry run,
// says that want messages will be delivered again.
func rewindInBrowser(t *testing.T, b *browser, want int64, shot string) {
	t.Helper()
	b.waitJS(`document.querySelector('button[data-action="rewind"]') && !document.querySelector('button[data-action="rewind"]').disabled`, "rewind enabled")
	evalJS[bool](b, `(() => { document.getElementById('rw-from').value = 'earliest'; return true; })()`)
	openConfirm(t, b, `button[data-action="rewind"]`)
	wantText := thousands(want) + " messages will be delivered again"
	if body := b.text(`#confirm-body [data-field="replay-count"]`); !strings.Contains(body, wantText) {
		t.Errorf("confirmation %q lacks %q", body, wantText)
	}
	b.screenshot(shot)
	b.click(`#confirm-ok`)
	b.waitJS(`!document.getElementById('confirm').open`, "confirmation closed")
}

func TestBrowserReplayFake(t *testing.T) {
	b := newBrowser(t)
	b.allow("Failed to load resource") // the fakes have no dead-letter or peek routes
	c := replayCluster(t)
	a := startAdmin(t, func(o *Options) {
		c.lookupdMode(o)
		o.HTTPClientRequestTimeout = 10 * time.Second // a loaded machine's nsqd may be slow; the page must not fail
	})

	t.Run("rewind a channel", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/orders/billing", "channel")
		b.waitJS(`document.querySelector('[data-field="replay-retained"]')`, "retained note")
		rewindInBrowser(t, b, 5, "fake-channel-rewind-confirm")
		testutil.Eventually(t, 10*time.Second, func() bool {
			da, _ := c.a.depth("orders", "billing")
			db, _ := c.b.depth("orders", "billing")
			return da == 3 && db == 2
		}, "both nodes rewound")
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "5"`, "depth 5 on the page")
	})

	t.Run("new channel from the earliest message", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/orders", "topic")
		b.waitJS(`document.querySelector('button[data-action="new-channel"]') && !document.querySelector('button[data-action="new-channel"]').disabled`, "new channel enabled")
		evalJS[bool](b, `(() => { document.getElementById('nc-name').value = 'replica'; document.getElementById('nc-from').value = 'time';
			document.getElementById('nc-time').value = '1970-01-01T00:00:02'; return true; })()`)
		openConfirm(t, b, `button[data-action="new-channel"]`)
		// the browser's time zone decides which instant 00:00:02 is: the
		// count comes from the dry run, whatever it is
		body := b.text(`#confirm-body [data-field="replay-count"]`)
		if !strings.Contains(body, "will be delivered again") || !strings.Contains(body, "replica") {
			t.Errorf("confirmation %q", body)
		}
		b.click(`#confirm-cancel`)
		b.waitJS(`!document.getElementById('confirm').open`, "confirmation closed")
		if _, ok := c.a.depth("orders", "replica"); ok {
			t.Fatal("cancel created the channel")
		}
		evalJS[bool](b, `(() => { document.getElementById('nc-from').value = 'earliest'; return true; })()`)
		openConfirm(t, b, `button[data-action="new-channel"]`)
		if body := b.text(`#confirm-body [data-field="replay-count"]`); !strings.Contains(body, "5 messages will be delivered again") {
			t.Errorf("confirmation %q", body)
		}
		b.screenshot("fake-topic-new-channel-confirm")
		b.click(`#confirm-ok`)
		b.waitJS(`document.querySelector('section[data-page="channel"][data-channel="replica"]')`, "the new channel's page")
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "5"`, "depth 5 on the new channel")
	})

	t.Run("disabled without log storage", func(t *testing.T) {
		b.tb = t
		c.a.set(func(f *fakeNSQD) { f.storage = clusterinfo.StorageDiskQueue })
		c.b.set(func(f *fakeNSQD) { f.storage = clusterinfo.StorageDiskQueue })
		b.open(a.url+"/topics/orders", "topic")
		b.waitJS(`document.querySelector('[data-field="replay-reason"]')`, "the reason")
		if got := b.text(`[data-field="replay-reason"]`); !strings.Contains(got, "--storage=log") || !strings.Contains(got, "2 with --storage=diskqueue") {
			t.Errorf("reason %q", got)
		}
		if !evalJS[bool](b, `document.querySelector('button[data-action="new-channel"]').disabled`) {
			t.Error("new channel from… enabled without log storage")
		}
		b.screenshot("fake-topic-replay-disabled")
	})
	b.tb = t
	b.noConsoleErrors()
}

func TestBrowserReplication(t *testing.T) {
	b := newBrowser(t)
	b.allow("Failed to load resource")
	c := newFakeCluster(t)
	c.a.set(func(f *fakeNSQD) { f.replication = sampleReplication() })
	c.b.set(func(f *fakeNSQD) {
		f.replication = &clusterinfo.Replication{NodeID: 2, Factor: 3, Groups: []*clusterinfo.ReplicationGroup{
			{ID: 2, Leader: 2, Term: 3, CommitIndex: 40, AppliedIndex: 40, HasQuorum: true, Members: []*clusterinfo.ReplicationMember{
				{NodeID: 2, Address: "127.0.0.1:4251", MatchIndex: 40, Active: true},
				{NodeID: 3, Address: "127.0.0.1:4252", MatchIndex: 40, Active: true},
			}},
		}}
	})
	a := startAdmin(t, c.lookupdMode)

	t.Run("nodes list flags the node", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/nodes", "nodes")
		b.waitJS(`document.querySelector('tr[data-node="`+c.a.addr()+`"][data-no-quorum="true"]')`, "node a flagged")
		if got := b.text(`[data-warn="no-quorum"]`); !strings.Contains(got, "Replication group 3 has no quorum") || !strings.Contains(got, c.a.addr()) {
			t.Errorf("warning %q", got)
		}
		if evalJS[bool](b, `!!document.querySelector('tr[data-node="`+c.b.addr()+`"][data-no-quorum]')`) {
			t.Error("node b flagged")
		}
		if got := b.text(`tr[data-node="` + c.b.addr() + `"] [data-field="replication"]`); got != "node 2: 1 group, leads 1" {
			t.Errorf("b's cell %q", got)
		}
		if got := b.text(`tr[data-node="` + c.a.addr() + `"] [data-field="replication"]`); !strings.Contains(got, "no quorum: group 3") {
			t.Errorf("a's cell %q", got)
		}
		b.screenshot("nodes-replication")
	})

	t.Run("node page shows the groups", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/nodes/"+url.PathEscape(c.a.addr()), "node")
		b.waitJS(`document.querySelector('section[data-ops="replication"]')`, "replication section")
		if got := b.text(`[data-warn="no-quorum"][data-group="3"]`); !strings.Contains(got, "Group 3 has no quorum: 1 of 3 members active, no leader known") {
			t.Errorf("warning %q", got)
		}
		if evalJS[bool](b, `!!document.querySelector('[data-warn="no-quorum"][data-group="1"]')`) {
			t.Error("group 1 flagged")
		}
		for sel, want := range map[string]string{
			`tbody[data-group="1"] [data-field="leader"]`:                          "node 1",
			`tbody[data-group="1"] [data-field="term"]`:                            "4",
			`tbody[data-group="1"] [data-field="commit_index"]`:                    "123",
			`tbody[data-group="3"] [data-field="applied_index"]`:                   "55",
			`tbody[data-group="3"] [data-field="leader"]`:                          "none known",
			`tbody[data-group="1"] tr[data-member="3"] [data-field="lag"]`:         "43",
			`tbody[data-group="1"] tr[data-member="3"] [data-field="active"]`:      "inactive",
			`tbody[data-group="1"] tr[data-member="2"] [data-field="match_index"]`: "120",
			`tbody[data-group="3"] tr[data-member="1"] [data-field="lag"]`:         "unknown",
			`tbody[data-group="3"] [data-field="quorum"]`:                          "no quorum",
		} {
			if got := b.text(sel); got != want {
				t.Errorf("%s = %q, want %q", sel, got, want)
			}
		}
		b.screenshot("node-replication")

		b.open(a.url+"/nodes/"+url.PathEscape(c.b.addr()), "node")
		b.waitJS(`document.querySelector('tbody[data-group="2"] [data-field="quorum"]')`, "b's group")
		if evalJS[bool](b, `!!document.querySelector('[data-warn="no-quorum"]')`) {
			t.Error("a healthy node shows a quorum warning")
		}
	})
	b.tb = t
	b.noConsoleErrors()
}
