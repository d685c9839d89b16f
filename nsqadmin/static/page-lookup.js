// Lookup: the nsqlookupd hosts, topics they know that no nsqd has
// (inactive), and creating topics and channels.

import { html } from './html.js';
import { get, api, enc } from './api.js';
import { topicLink } from './links.js';
import { isAdmin } from './ui.js';
import { toast, refreshNow } from './app.js';

const NAME = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;
const validName = (s) => s.length > 0 && s.length <= 64 && NAME.test(s);

function deleteButton(ctx, topic, channel) {
  if (!isAdmin) return '';
  const what = channel ? `channel “${channel}” of topic “${topic}”` : `topic “${topic}”`;
  const id = ctx.action({
    method: 'DELETE',
    path: '/topics/' + enc(topic) + (channel ? '/' + enc(channel) : ''),
    confirm: {
      title: `Delete ${what}?`,
      body: html`<p>This removes ${what} from nsqlookupd${channel ? '' : ', with its channels'}. No nsqd has it right now, so no messages are lost.</p>
        <p>It reappears if an nsqd registers it again.</p>`,
      ok: channel ? 'Delete channel' : 'Delete topic',
    },
    done: `Deleted ${channel ? 'channel ' + channel : 'topic ' + topic}`,
    failed: `Could not delete ${channel ? 'channel ' + channel : 'topic ' + topic}`,
  });
  return html`<button type="button" class="btn btn-small btn-danger-outline" data-act="${id}" data-action="delete">${channel ? 'Delete channel…' : 'Delete topic…'}</button>`;
}

function createForm(ctx) {
  const id = ctx.action({
    async submit(form) {
      const topic = form.querySelector('#create-topic').value.trim();
      const channel = form.querySelector('#create-channel').value.trim();
      const err = form.querySelector('.form-error');
      if (!validName(topic)) { err.textContent = 'Topic names are 1-64 characters of a-z, A-Z, 0-9, ".", "_" and "-", optionally ending in #ephemeral.'; return; }
      if (channel && !validName(channel)) { err.textContent = 'Channel names follow the same rule as topic names.'; return; }
      err.textContent = '';
      const btn = form.querySelector('button');
      btn.disabled = true;
      try {
        const body = channel ? { topic, channel } : { topic };
        const r = await api('POST', '/topics', body);
        toast(`Created ${channel ? `channel ${channel} on ` : ''}topic ${topic}` + (r.message ? ` (${r.message})` : ''), r.message ? 'warn' : 'ok');
        form.querySelector('#create-topic').value = '';
        form.querySelector('#create-channel').value = '';
        refreshNow();
      } catch (e) {
        err.textContent = e.message;
      } finally {
        btn.disabled = false;
      }
    },
  });
  return html`<form class="create-form" data-act="${id}" autocomplete="off">
    <h2>Create a topic or channel</h2>
    <p class="muted">Registers the topic (and channel) with every nsqlookupd, and creates the channel on each nsqd that already has the topic, so no message published from now on is missed by it.</p>
    <div class="form-row">
      <label>Topic <input id="create-topic" name="topic" required maxlength="64" placeholder="topic"></label>
      <label>Channel <span class="muted">(optional)</span> <input id="create-channel" name="channel" maxlength="64" placeholder="channel"></label>
      <button type="submit" class="btn btn-primary">Create</button>
    </div>
    <p class="form-error" role="alert"></p>
  </form>`;
}

export const pageLookup = {
  title: () => 'Lookup',
  nav: 'lookup',
  load: () => get('/topics?inactive=true'),
  render(d, _p, ctx) {
    if (!NSQLOOKUPD.length) {
      return html`<section data-page="lookup"><div class="page-head"><h1>Lookup</h1></div>
        <div class="notice">nsqadmin is not using nsqlookupd: it was started with <code>--nsqd-http-address</code> (${NSQD.join(', ')}).
        There are no inactive topics to show, and topics are created by publishing to an nsqd (or with its <code>/topic/create</code> endpoint).</div></section>`;
    }
    const topics = d.topics || {};
    const names = Object.keys(topics).sort();
    return html`<section data-page="lookup">
      <div class="page-head"><h1>Lookup</h1></div>
      <p>nsqlookupd: ${NSQLOOKUPD.map((a, i) => html`${i ? ', ' : ''}<code>${a}</code>`)}</p>
      ${isAdmin ? createForm(ctx) : ''}
      <h2>Inactive topics</h2>
      <p class="muted">Topics nsqlookupd knows but no nsqd produces.</p>
      ${names.length === 0 ? html`<div class="empty-box">No inactive topics.</div>` : html`
      <ul class="tree" data-table="inactive">${names.map((t) => html`<li data-topic="${t}"><a href="${topicLink(t)}" data-nav>${t}</a> ${deleteButton(ctx, t)}
        ${(topics[t] || []).length ? html`<ul>${topics[t].map((c) => html`<li data-channel="${c}">${c} ${deleteButton(ctx, t, c)}</li>`)}</ul>` : ''}</li>`)}</ul>`}
    </section>`;
  },
};
