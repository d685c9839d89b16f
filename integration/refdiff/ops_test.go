package refdiff

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// opsChannelKeys are the channel keys of /stats beyond NSQ's (lag and
// dead letters, issue 14), documented in docs/differences.md.
const opsChannelKeys = `keys only in our \[dead_letter_count dead_letter_topic fin_latency max_attempts oldest_msg_age_ms\]$`

func init() {
	for _, test := range []string{"TestNSQDHTTP", "TestNSQDStatsClients"} {
		allowPattern(test, `channels\[\d+\]: `+opsChannelKeys, "lag and dead-letter fields of a channel are ours")
	}
}

// TestNSQDDatReadByNSQ: the nsqd.dat our nsqd writes with a channel's
// dead-letter setting is read by NSQ's nsqd (it ignores our fields): the
// topics, channels and pause state come back.
func TestNSQDDatReadByNSQ(t *testing.T) {
	refDir(t)
	data := t.TempDir()
	our := start(t, "our", "nsqd", "--data-path="+data, "--log-level=error")
	mustPost(t, our.http, "/topic/create?topic=t1")
	mustPost(t, our.http, "/channel/create?topic=t1&channel=c1")
	mustPost(t, our.http, "/channel/pause?topic=t1&channel=c1")
	resp, err := http.Post("http://"+our.http+"/channel/config?topic=t1&channel=c1", "application/json",
		strings.NewReader(`{"max_attempts": 4, "dead_letter_topic": "poison"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /channel/config: %v %v", resp, err)
	}
	resp.Body.Close()
	our.proc.Signal(t, syscall.SIGTERM)
	our.proc.Wait(t, 10*time.Second)
	dat, _ := os.ReadFile(filepath.Join(data, "nsqd.dat"))
	if !strings.Contains(string(dat), `"max_attempts":4`) {
		t.Fatalf("our nsqd.dat: %s", dat)
	}

	ref := start(t, "ref", "nsqd", "--data-path="+data, "--log-level=error")
	r := do(t, ref.http, get("stats", "/stats?format=json"))
	var stats struct {
		Topics []struct {
			TopicName string `json:"topic_name"`
			Channels  []struct {
				ChannelName string `json:"channel_name"`
				Paused      bool   `json:"paused"`
			} `json:"channels"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(r.body, &stats); err != nil || len(stats.Topics) != 1 || stats.Topics[0].TopicName != "t1" ||
		len(stats.Topics[0].Channels) != 1 || stats.Topics[0].Channels[0].ChannelName != "c1" || !stats.Topics[0].Channels[0].Paused {
		t.Fatalf("NSQ's nsqd on our nsqd.dat: %v %s", err, r.body)
	}
}
