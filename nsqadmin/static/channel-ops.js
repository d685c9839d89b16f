// Channel operations beyond NSQ (served by our nsqd, see docs/operations.md):
// the dead-letter setting and ledger with replay, and the peek panel. Nodes
// that run NSQ's nsqd have none of this and are left out with a note.

import { html } from './html.js';
import { get, api, enc, ApiError } from './api.js';
import { num, duration, plural } from './fmt.js';
import { toast, refreshNow, confirmAction } from './app.js';
import { isAdmin, badge } from './ui.js';

const base = (t, c) => '/topics/' + enc(t) + '/' + enc(c);
const PREVIEW_CHARS = 120;

// peekCount is what the peek panel asks for; kept across refreshes.
let peekCount = 10;

async function optional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError) return { error: e.message, status: e.status, nodes: [] };
    throw e;
  }
}

// loadOps fetches the setting, the dead letters and a peek for a channel.
export async function loadOps(topic, channel) {
  const [config, dead, peek] = await Promise.all([
    optional(base(topic, channel) + '/config'),
    optional(base(topic, channel) + '/dead'),
    optional(base(topic, channel) + '/peek?n=' + peekCount),
  ]);
  return { config, dead, peek };
}

// loadLag fetches a topic's per-channel lag, keyed by channel name.
export async function loadLag(topic) {
  try {
    const r = await get('/lag/' + enc(topic));
    return Object.fromEntries((r.channels || []).map((c) => [c.channel_name, c]));
  } catch (_) {
    return {};
  }
}

// truncate cuts a preview for display; html`` escapes it.
function truncate(s) {
  return s.length > PREVIEW_CHARS ? s.slice(0, PREVIEW_CHARS) + '…' : s;
}

function when(ns) {
  return new Date(ns / 1e6).toLocaleString('en-GB', { hour12: false });
}

function ago(ns) {
  return duration(Date.now() * 1e6 - ns) + ' ago';
}

// finLatency shows p99 of a fin_latency summary (else its highest quantile).
export function finLatency(f) {
  if (!f || !f.percentiles || !f.percentiles.length) return html`<span class="muted">—</span>`;
  const p = f.percentiles.find((x) => x.quantile === 0.99) || f.percentiles.reduce((a, b) => (b.quantile > a.quantile ? b : a));
  const v = p.value !== undefined ? p.value : p.max;
  return html`<span title="delivery → FIN over ${num(f.count)} messages">p${+(p.quantile * 100).toFixed(1)} ${duration(v)}</span>`;
}

export function oldestAge(ms) {
  if (!ms) return html`<span class="muted">0</span>`;
  return duration(ms * 1e6);
}

function note(r, what) {
  if (r.error) return html`<p class="error-box" data-ops-error="${what}">${what} unavailable: ${r.error}</p>`;
  if (r.message) return html`<p class="warn-box small">${r.message}</p>`;
  return '';
}

function settingForm(ctx, t, c, cfg) {
  if (!isAdmin) return '';
  const id = ctx.action({
    submit(form) {
      const max = form.querySelector('#dl-max').value.trim();
      const topic = form.querySelector('#dl-topic').value.trim();
      const body = { max_attempts: max === '' ? 0 : Number(max), dead_letter_topic: topic };
      api('POST', base(t, c) + '/config', body)
        .then((r) => { toast(`Dead-letter setting of ${c} saved` + (r.message ? ': ' + r.message : ''), r.message ? 'warn' : 'ok'); refreshNow(); })
        .catch((e) => toast(`Could not change the dead-letter setting of ${c}: ${e.message}`, 'error'));
    },
  });
  return html`<form class="inline-form" data-act="${id}" data-form="dead-letter-config">
    <label>Max attempts <input id="dl-max" type="number" min="0" max="65535" placeholder="${cfg.default_max_attempts || 0}" value="${cfg.channel_max_attempts || ''}"></label>
    <label>Dead-letter topic <input id="dl-topic" type="text" placeholder="${t}.dead" value="${cfg.channel_dead_letter_topic || ''}"></label>
    <button type="submit" class="btn btn-small">Save</button>
    <span class="muted small">empty: the daemon's --max-attempts (0 = unlimited) and ${t}.dead</span>
  </form>`;
}

function replayButtons(ctx, t, c, letters) {
  if (!isAdmin || !letters.length) return '';
  const target = () => (document.getElementById('replay-to') || {}).value || 'topic';
  const where = () => (target() === 'channel' ? `channel ${c} only` : `topic ${t} (every channel)`);
  const run = (all) => async (btn) => {
    const boxes = [...document.querySelectorAll('input[data-dead]:checked')];
    const chosen = all ? letters : boxes.map((b) => ({ node: b.dataset.node, id: b.dataset.dead }));
    if (!chosen.length) { toast('Select dead letters to replay first', 'warn'); return; }
    if (!(await confirmAction({
      title: `Replay ${plural(chosen.length, 'dead letter')}?`,
      body: html`<p>${plural(chosen.length, 'message')} will be published again to <b>${where()}</b> as new messages (0 attempts). They leave the dead-letter list; the copies in ${letters[0].dead_letter_topic} stay.</p>`,
      ok: `Replay ${num(chosen.length)}`,
    }))) return;
    btn.disabled = true;
    const body = all ? { all: true, to: target() } : { letters: chosen.map((l) => ({ node: l.node, id: l.id })), to: target() };
    try {
      const r = await api('POST', base(t, c) + '/dead/replay', body);
      toast(`Replayed ${plural(r.replayed, 'dead letter')}` + (r.message ? ': ' + r.message : ''), r.message ? 'warn' : 'ok');
      refreshNow();
    } catch (e) {
      toast(`Could not replay: ${e.message}`, 'error');
      btn.disabled = false;
    }
  };
  return html`<div class="actions">
    <select id="replay-to" title="Where replayed messages go"><option value="topic">to the topic (every channel)</option><option value="channel">to this channel only</option></select>
    <button type="button" class="btn btn-small" data-act="${ctx.action({ run: run(false) })}" data-action="replay-selected">Replay selected…</button>
    <button type="button" class="btn btn-small btn-warn" data-act="${ctx.action({ run: run(true) })}" data-action="replay-all">Replay all…</button>
  </div>`;
}

// deadLetters renders the setting, the count and the recorded dead letters.
export function deadLetters(ops, s, ctx) {
  const t = s.topic_name, c = s.channel_name;
  const cfgNodes = ops.config.nodes || [];
  const cfg = cfgNodes[0] || {};
  const limits = [...new Set(cfgNodes.map((n) => n.max_attempts))];
  const targets = [...new Set(cfgNodes.map((n) => n.dead_letter_topic))];
  const count = cfgNodes.reduce((a, n) => a + (n.dead_letter_count || 0), 0);
  const letters = (ops.dead.nodes || []).flatMap((n) => (n.dead_letters || []).map((l) => ({ ...l, node: n.node })))
    .sort((a, b) => b.dead_at - a.dead_at);
  return html`<section class="ops" data-ops="dead-letters">
    <h2>Dead letters <span class="muted">(${num(count)} since nsqd start)</span></h2>
    ${note(ops.config, 'Dead-letter setting')}
    ${cfgNodes.length ? html`<p data-field="dead-letter-setting">${limits.length === 1 && limits[0] === 0
      ? html`No attempt limit: messages are redelivered until they are finished.`
      : html`A message delivered <b data-field="max-attempts">${limits.join(' / ')}</b> times goes to topic <b data-field="dead-letter-topic">${targets.join(' / ')}</b> instead of a further delivery.`}
      ${cfg.channel_max_attempts ? badge('set on this channel', 'muted') : ''}</p>
    ${settingForm(ctx, t, c, cfg)}` : ''}
    ${note(ops.dead, 'Dead-letter list')}
    ${letters.length === 0 ? html`<div class="empty-box" data-empty="dead-letters">No dead letters recorded for this channel.</div>` : html`
    ${replayButtons(ctx, t, c, letters)}
    <div class="table-wrap"><table class="table" data-table="dead-letters">
      <thead><tr>${isAdmin ? html`<th></th>` : ''}<th>Body</th><th class="num">Attempts</th><th>Dead</th><th>Published</th><th>ID in ${letters[0].dead_letter_topic}</th><th>Node</th></tr></thead>
      <tbody>${letters.map((l) => html`<tr data-dead-letter="${l.id}">
        ${isAdmin ? html`<td><input type="checkbox" id="dead-${l.node}-${l.id}" data-dead="${l.id}" data-node="${l.node}" aria-label="select"></td>` : ''}
        <td class="preview" title="${l.body.length > 0 ? 'base64 ' + l.body.slice(0, 200) : ''}"><code>${truncate(l.preview)}</code></td>
        <td class="num">${num(l.attempts)}</td>
        <td title="${when(l.dead_at)}">${ago(l.dead_at)}</td>
        <td title="${when(l.timestamp)}">${ago(l.timestamp)}</td>
        <td class="small"><code>${l.id}</code><div class="muted">was ${l.original_id}</div></td>
        <td>${l.node}</td>
      </tr>`)}</tbody>
    </table></div>`}
  </section>`;
}

// peekPanel renders the first waiting messages of every node.
export function peekPanel(ops, ctx) {
  const nodes = ops.peek.nodes || [];
  const msgs = nodes.flatMap((n) => (n.messages || []).map((m) => ({ ...m, node: n.node })));
  const hidden = nodes.filter((n) => !n.complete).reduce((a, n) => a + n.backend_depth, 0);
  const setCount = ctx.action({
    submit(form) {
      const v = Number(form.querySelector('#peek-n').value);
      if (!(v >= 1 && v <= 100)) { toast('Peek 1 to 100 messages', 'warn'); return; }
      peekCount = v;
      refreshNow();
    },
  });
  return html`<details class="ops" id="peek-panel" data-ops="peek">
    <summary><h2>Peek</h2> <span class="muted">the next messages waiting, without consuming them</span></summary>
    <form class="inline-form" data-act="${setCount}"><label>Messages per node <input id="peek-n" type="number" min="1" max="100" value="${peekCount}"></label>
      <button type="submit" class="btn btn-small">Peek</button></form>
    ${note(ops.peek, 'Peek')}
    ${msgs.length === 0 ? html`<div class="empty-box" data-empty="peek">No message is waiting in memory${hidden ? '' : ' or on disk'}.</div>` : html`
    <div class="table-wrap"><table class="table" data-table="peek">
      <thead><tr><th>#</th><th>Body</th><th class="num">Attempts</th><th>Published</th><th>ID</th><th>Node</th></tr></thead>
      <tbody>${msgs.map((m, i) => html`<tr data-peek="${m.id}">
        <td class="num">${i + 1}</td>
        <td class="preview"><code>${truncate(m.preview)}</code></td>
        <td class="num">${num(m.attempts)}</td>
        <td title="${when(m.timestamp)}">${ago(m.timestamp)}</td>
        <td class="small"><code>${m.id}</code></td>
        <td>${m.node}</td>
      </tr>`)}</tbody>
    </table></div>`}
    ${hidden ? html`<p class="muted small" data-field="peek-hidden">${plural(hidden, 'more message')} on disk: nsqd's disk queue can only be read by consuming, so these are counted, not shown.</p>` : ''}
  </details>`;
}
