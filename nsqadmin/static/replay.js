// Replay from nsqd's log storage (--storage=log, beyond NSQ): "rewind
// channel to…" on the channel page and "new channel from…" on the topic
// page. Both first ask for a dry run and confirm with the number of
// messages that will be delivered again; both are disabled, with the
// reason shown, when no nsqd of the topic runs the log storage.

import { html } from './html.js';
import { get, api, enc } from './api.js';
import { num, plural } from './fmt.js';
import { toast, refreshNow, confirmAction, go } from './app.js';
import { isAdmin } from './ui.js';
import { channelLink } from './links.js';

// loadReplay says whether the topic's nodes can replay (admins only: only
// they see the forms). A failure disables the forms with its text.
export async function loadReplay(topic) {
  if (!isAdmin) return { enabled: false, nodes: [] };
  try {
    return await get('/replay/' + enc(topic));
  } catch (e) {
    return { enabled: false, reason: 'could not ask the nodes (' + e.message + ')', nodes: [] };
  }
}

function when(ms) {
  return new Date(ms).toLocaleString('en-GB', { hour12: false });
}

// point reads the "from" select and the date-time input of a form:
// {value: "earliest"|"latest"|"<unix ms>", label} or null (with a toast).
function point(form, prefix) {
  const from = form.querySelector('#' + prefix + '-from').value;
  if (from === 'earliest') return { value: 'earliest', label: 'the earliest retained message' };
  if (from === 'latest') return { value: 'latest', label: 'now (only messages published from now on)' };
  const v = form.querySelector('#' + prefix + '-time').value;
  const ms = v ? new Date(v).getTime() : NaN;
  if (!(ms >= 0)) {
    toast('Pick a date and time first', 'warn');
    return null;
  }
  return { value: String(ms), label: when(ms) };
}

function perNode(r) {
  const nodes = r.nodes || [];
  if (nodes.length < 2) return '';
  return html` (${nodes.map((n, i) => html`${i ? ', ' : ''}${num(n.messages)} on ${n.node}`)})`;
}

function warnNote(r) {
  return r.message ? html`<p class="warn-box small">${r.message}</p>` : '';
}

function retained(rp) {
  const nodes = (rp.nodes || []).filter((n) => n.storage === 'log').length;
  return html`<span class="muted small" data-field="replay-retained">${rp.retained_from_ms
    ? html`log storage on ${plural(nodes, 'node')}, messages retained since ${when(rp.retained_from_ms)}`
    : html`log storage on ${plural(nodes, 'node')}, no message retained`}</span>`;
}

function fromSelect(prefix, latest, disabled) {
  return html`<select id="${prefix}-from" ${disabled ? html`disabled` : ''} aria-label="from">
    <option value="earliest">the earliest retained message</option>
    ${latest ? html`<option value="latest">now (new messages only)</option>` : ''}
    <option value="time">a date and time…</option>
  </select>
  <input type="datetime-local" id="${prefix}-time" step="1" aria-label="date and time" ${disabled ? html`disabled` : ''}>`;
}

function reason(rp) {
  return html`<span class="muted small" data-field="replay-reason">Unavailable: ${rp.reason || 'no nsqd of this topic runs --storage=log'}.</span>`;
}

// rewindForm is the channel page's "rewind channel to…".
export function rewindForm(ctx, s, rp) {
  if (!isAdmin) return '';
  const t = s.topic_name, c = s.channel_name;
  const off = !rp.enabled;
  const id = ctx.action({ submit: (form) => rewind(form, t, c) });
  return html`<form class="inline-form replay-form" data-act="${id}" data-form="rewind">
    <b>Replay</b> ${fromSelect('rw', false, off)}
    <button type="submit" class="btn btn-small btn-warn" data-action="rewind" ${off ? html`disabled title="${rp.reason || ''}"` : ''}>Rewind channel to…</button>
    ${off ? reason(rp) : retained(rp)}
  </form>`;
}

async function rewind(form, t, c) {
  const p = point(form, 'rw');
  if (!p) return;
  const path = '/topics/' + enc(t) + '/' + enc(c);
  const btn = form.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const dry = await api('POST', path, { action: 'rewind', to: p.value, dry_run: true });
    const ok = await confirmAction({
      title: `Rewind channel “${c}” to ${p.label}?`,
      body: html`<p data-field="replay-count"><b>${plural(dry.messages, 'message')} will be delivered again</b> to the consumers of channel <b>${c}</b> of topic <b>${t}</b>${perNode(dry)}.</p>
        <p>The channel goes back to ${p.label}: every retained message published since then is delivered again, also those already finished, so consumers see them a second time. Other channels are not touched.</p>
        ${warnNote(dry)}`,
      ok: `Rewind (deliver ${num(dry.messages)} again)`,
    });
    if (!ok) return;
    const r = await api('POST', path, { action: 'rewind', to: p.value });
    toast(`Rewound channel ${c}: ${plural(r.messages, 'message')} will be delivered again` + (r.message ? ' (' + r.message + ')' : ''), r.message ? 'warn' : 'ok');
    refreshNow();
  } catch (e) {
    toast(`Could not rewind channel ${c}: ${e.message}`, 'error');
  } finally {
    btn.disabled = false;
  }
}

// newChannelForm is the topic page's "new channel from…".
export function newChannelForm(ctx, t, rp) {
  if (!isAdmin) return '';
  const off = !rp.enabled;
  const id = ctx.action({ submit: (form) => createFrom(form, t) });
  return html`<form class="inline-form replay-form" data-act="${id}" data-form="new-channel">
    <b>Replay</b> <input type="text" id="nc-name" placeholder="channel name" aria-label="channel name" maxlength="64" ${off ? html`disabled` : ''}>
    from ${fromSelect('nc', true, off)}
    <button type="submit" class="btn btn-small" data-action="new-channel" ${off ? html`disabled title="${rp.reason || ''}"` : ''}>New channel from…</button>
    ${off ? reason(rp) : retained(rp)}
  </form>`;
}

async function createFrom(form, t) {
  const name = form.querySelector('#nc-name').value.trim();
  if (!name) {
    toast('Name the new channel first', 'warn');
    return;
  }
  const p = point(form, 'nc');
  if (!p) return;
  const btn = form.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const body = { topic: t, channel: name, start: p.value };
    const dry = await api('POST', '/topics', { ...body, dry_run: true });
    const ok = await confirmAction({
      title: `Create channel “${name}” from ${p.label}?`,
      body: html`<p data-field="replay-count"><b>${plural(dry.messages, 'message')} will be delivered again</b>, to the new channel <b>${name}</b> of topic <b>${t}</b>${perNode(dry)}.</p>
        <p>The channel starts at ${p.label} and then gets every new message, like any channel. Existing channels are not touched.</p>
        ${warnNote(dry)}`,
      ok: `Create channel (${num(dry.messages)} messages)`,
    });
    if (!ok) return;
    const r = await api('POST', '/topics', body);
    toast(`Created channel ${name}: ${plural(r.messages, 'message')} will be delivered` + (r.message ? ' (' + r.message + ')' : ''), r.message ? 'warn' : 'ok');
    go(channelLink(t, name));
  } catch (e) {
    toast(`Could not create channel ${name}: ${e.message}`, 'error');
  } finally {
    btn.disabled = false;
  }
}
