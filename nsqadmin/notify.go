package nsqadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
)

// AdminAction is the JSON body POSTed to --notification-http-endpoint for
// every admin action.
type AdminAction struct {
	Action    string `json:"action"`
	Topic     string `json:"topic"`
	Channel   string `json:"channel,omitempty"`
	Node      string `json:"node,omitempty"`
	Timestamp int64  `json:"timestamp"`
	User      string `json:"user,omitempty"`
	RemoteIP  string `json:"remote_ip"`
	UserAgent string `json:"user_agent"`
	URL       string `json:"url"`
	Via       string `json:"via"`
}

// notifyQueueSize bounds the notifications waiting to be sent; beyond it
// new ones are dropped (and logged) rather than blocking admin actions.
const notifyQueueSize = 100

// notifier sends AdminActions to the endpoint one at a time in the
// background; the result is only logged. Safe for concurrent use.
type notifier struct {
	client   *httpapi.Client
	endpoint string // "" disables notifications
	logf     func(lg.Level, string, ...any)
	queue    chan *AdminAction
}

func newNotifier(client *httpapi.Client, endpoint string, logf func(lg.Level, string, ...any)) *notifier {
	return &notifier{client: client, endpoint: endpoint, logf: logf, queue: make(chan *AdminAction, notifyQueueSize)}
}

// newAdminAction describes an action requested by req.
func newAdminAction(action, topic, channel, node, via string, req *http.Request) *AdminAction {
	user, _, _ := req.BasicAuth()
	u := url.URL{Scheme: "http", Host: req.Host, Path: req.URL.Path, RawQuery: req.URL.RawQuery}
	if req.TLS != nil || req.Header.Get("X-Scheme") == "https" {
		u.Scheme = "https"
	}
	return &AdminAction{
		Action:    action,
		Topic:     topic,
		Channel:   channel,
		Node:      node,
		Timestamp: time.Now().Unix(),
		User:      user,
		RemoteIP:  req.RemoteAddr,
		UserAgent: req.UserAgent(),
		URL:       u.String(),
		Via:       via,
	}
}

// send queues a for delivery.
func (n *notifier) send(a *AdminAction) {
	if n.endpoint == "" {
		return
	}
	select {
	case n.queue <- a:
	default:
		n.logf(lg.WARN, "notification queue full, dropping %s %s", a.Action, a.Topic)
	}
}

// run delivers queued notifications until exit is closed, then tries
// what is still queued once more with one request timeout in total.
func (n *notifier) run(exit <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case a := <-n.queue:
			n.post(ctx, a)
		case <-exit:
			n.drain()
			return
		}
	}
}

func (n *notifier) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), n.client.HTTP().Timeout)
	defer cancel()
	for {
		select {
		case a := <-n.queue:
			n.post(ctx, a)
		default:
			return
		}
	}
}

func (n *notifier) post(ctx context.Context, a *AdminAction) {
	body, err := json.Marshal(a)
	if err != nil {
		n.logf(lg.ERROR, "notification %s: %s", a.Action, err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint, bytes.NewReader(body))
	if err != nil {
		n.logf(lg.ERROR, "notification %s: %s", a.Action, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.HTTP().Do(req)
	if err != nil {
		n.logf(lg.WARN, "notification %s to %s failed: %s", a.Action, n.endpoint, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		n.logf(lg.WARN, "notification %s to %s: got %s", a.Action, n.endpoint, resp.Status)
	}
}
