// Pieces shared by the pages: stat tiles, badges, e2e cells, history
// charts, and the admin actions with confirmations that say what is lost.

import { html } from './html.js';
import { num, rate, latency, plural, duration } from './fmt.js';
import { chart } from './chart.js';
import { get, enc } from './api.js';
import { link } from './links.js';

export const isAdmin = IS_ADMIN;

export function tiles(items) {
  return html`<div class="tiles">${items.map((it) => html`<div class="tile${it.warn ? ' tile-warn' : ''}" data-tile="${it.key || it.label}" ${it.title ? html`title="${it.title}"` : ''}>
    <div class="tile-label">${it.label}</div><div class="tile-value">${it.value}</div>${it.sub ? html`<div class="tile-sub">${it.sub}</div>` : ''}</div>`)}</div>`;
}

export function badge(text, kind, title) {
  return html`<span class="badge badge-${kind}"${title ? html` title="${title}"` : ''}>${text}</span>`;
}

export function pausedBadge(paused) {
  return paused ? badge('paused', 'paused', 'Paused: messages are kept but not delivered') : '';
}

// e2e shows end-to-end latency percentiles (aggregate: average, node: value).
export function e2e(e) {
  if (!e || !e.percentiles || e.percentiles.length === 0) return html`<span class="muted">—</span>`;
  return html`${e.percentiles.map((p, i) => html`${i ? ', ' : ''}<span title="p${(p.quantile * 100).toFixed(1)} over ${num(p.count)} messages">p${+(p.quantile * 100).toFixed(1)} ${latency(p.value !== undefined ? p.value : p.average)}</span>`)}`;
}

export function hasE2E(list) {
  return list.some((x) => x.e2e_processing_latency && x.e2e_processing_latency.percentiles && x.e2e_processing_latency.percentiles.length);
}

// loadHistory fetches a series; a failure leaves the charts out, not the page.
export async function loadHistory(topic, channel) {
  let q = '';
  if (topic) q = '?topic=' + enc(topic) + (channel ? '&channel=' + enc(channel) : '');
  try {
    return await get('/history' + q);
  } catch (e) {
    return { error: e.message, points: [], interval_ms: HISTORY_INTERVAL_MS };
  }
}

// historyCharts draws the rate and depth charts of a series.
export function historyCharts(id, h, what) {
  if (h.error) return html`<div class="charts"><p class="error-box">History unavailable: ${h.error}</p></div>`;
  const pts = h.points || [];
  const iv = h.interval_ms || HISTORY_INTERVAL_MS;
  const rateSeries = [{ label: what.rateLabel, color: '#1f6fb5', fill: true, points: pts.map((p) => [p.ts, p.rate]) }];
  if (what.requeues) {
    rateSeries.push({ label: 'requeued/s', color: '#c0392b', points: pts.map((p) => [p.ts, p.requeue_rate]) });
    rateSeries.push({ label: 'timed out/s', color: '#8e44ad', points: pts.map((p) => [p.ts, p.timeout_rate]) });
  }
  const depthSeries = [{ label: what.depthLabel, color: '#d9822b', fill: true, points: pts.map((p) => [p.ts, p.depth]) },
    { label: 'in flight', color: '#2e8b57', points: pts.map((p) => [p.ts, p.in_flight]) }];
  return html`<div class="charts">
    ${chart({ id: id + '-rate', title: 'Message rate', unit: 'per second', series: rateSeries, format: rate, intervalMs: iv })}
    ${chart({ id: id + '-depth', title: 'Depth', unit: 'messages', series: depthSeries, format: num, intervalMs: iv })}
    ${what.oldest ? chart({
    id: id + '-oldest', title: 'Oldest waiting message', unit: 'age',
    series: [{ label: 'oldest waiting', color: '#b5651d', fill: true, points: pts.map((p) => [p.ts, p.oldest_msg_age_ms === undefined ? null : p.oldest_msg_age_ms]) }],
    format: (v) => (v ? duration(v * 1e6) : '0'), intervalMs: iv,
  }) : ''}
  </div>`;
}

function lost(s) {
  const parts = [];
  if (s.depth) parts.push(`${num(s.depth)} queued`);
  if (s.in_flight_count) parts.push(`${num(s.in_flight_count)} in flight`);
  if (s.deferred_count) parts.push(`${num(s.deferred_count)} deferred`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function nodes(list) {
  const n = (list || []).length;
  return n ? ` on ${plural(n, 'node')}` : '';
}

const topicPath = (t) => '/topics/' + enc(t);
const channelPath = (t, c) => '/topics/' + enc(t) + '/' + enc(c);

// pauseButton pauses or unpauses a topic (channel undefined) or a channel.
export function pauseButton(ctx, topic, channel, paused) {
  if (!isAdmin) return '';
  const what = channel ? 'channel' : 'topic';
  const action = paused ? 'unpause' : 'pause';
  const id = ctx.action({
    method: 'POST',
    path: channel ? channelPath(topic, channel) : topicPath(topic),
    body: { action },
    done: `${paused ? 'Unpaused' : 'Paused'} ${what} ${channel || topic}`,
    failed: `Could not ${action} ${what} ${channel || topic}`,
  });
  const title = paused
    ? (channel ? 'Resume delivering messages to consumers' : 'Resume copying messages to the channels')
    : (channel ? 'Stop delivering messages to consumers; messages keep queueing' : 'Stop copying messages to the channels; messages keep queueing in the topic');
  return html`<button type="button" class="btn ${paused ? 'btn-primary' : 'btn-warn'}" data-act="${id}" data-action="${action}" title="${title}">${paused ? 'Unpause' : 'Pause'} ${what}</button>`;
}

export function emptyChannelButton(ctx, s) {
  if (!isAdmin) return '';
  const total = s.depth + s.in_flight_count + s.deferred_count;
  const id = ctx.action({
    method: 'POST', path: channelPath(s.topic_name, s.channel_name), body: { action: 'empty' },
    confirm: {
      title: `Empty channel “${s.channel_name}”?`,
      body: html`<p>This <b>empties ${num(total)} ${total === 1 ? 'message' : 'messages'}</b>${lost(s)} from channel <b>${s.channel_name}</b> of topic <b>${s.topic_name}</b>${nodes(s.nodes)}.</p>
        <p>Its consumers will never receive them. This cannot be undone. The channel itself stays, with its consumers.</p>`,
      ok: `Empty channel (lose ${num(total)} messages)`,
    },
    done: `Emptied channel ${s.channel_name}`, failed: `Could not empty channel ${s.channel_name}`,
  });
  return html`<button type="button" class="btn btn-danger" data-act="${id}" data-action="empty">Empty channel…</button>`;
}

export function deleteChannelButton(ctx, s, onDone) {
  if (!isAdmin) return '';
  const total = (s.depth || 0) + (s.in_flight_count || 0) + (s.deferred_count || 0);
  const id = ctx.action({
    method: 'DELETE', path: channelPath(s.topic_name, s.channel_name),
    confirm: {
      title: `Delete channel “${s.channel_name}”?`,
      body: html`<p>This <b>deletes channel ${s.channel_name}</b> of topic <b>${s.topic_name}</b>${nodes(s.nodes)} and <b>its ${num(total)} ${total === 1 ? 'message' : 'messages'}</b>${lost(s)}, and removes it from nsqlookupd.</p>
        ${s.client_count ? html`<p>Its ${plural(s.client_count, 'connected consumer')} will be disconnected; a consumer that subscribes again re-creates the channel, empty.</p>` : ''}
        <p>New messages published to the topic will no longer be copied to it. This cannot be undone.</p>`,
      ok: `Delete channel (lose ${num(total)} messages)`,
    },
    done: `Deleted channel ${s.channel_name}`, failed: `Could not delete channel ${s.channel_name}`,
    then: onDone,
  });
  return html`<button type="button" class="btn btn-danger" data-act="${id}" data-action="delete">Delete channel…</button>`;
}

export function emptyTopicButton(ctx, t, channelBacklog) {
  if (!isAdmin) return '';
  const id = ctx.action({
    method: 'POST', path: topicPath(t.topic_name), body: { action: 'empty' },
    confirm: {
      title: `Empty topic “${t.topic_name}”?`,
      body: html`<p>This <b>empties ${num(t.depth)} ${t.depth === 1 ? 'message' : 'messages'}</b> waiting in topic <b>${t.topic_name}</b> itself${nodes(t.nodes)} (not yet copied to any channel).</p>
        <p>Its channels are not touched: they keep their ${num(channelBacklog)} queued messages. To drop those, empty each channel. This cannot be undone.</p>`,
      ok: `Empty topic (lose ${num(t.depth)} messages)`,
    },
    done: `Emptied topic ${t.topic_name}`, failed: `Could not empty topic ${t.topic_name}`,
  });
  return html`<button type="button" class="btn btn-danger" data-act="${id}" data-action="empty">Empty topic queue…</button>`;
}

export function deleteTopicButton(ctx, t, onDone) {
  if (!isAdmin) return '';
  const chans = t.channels || [];
  const inChannels = chans.reduce((a, c) => a + c.depth + c.in_flight_count + c.deferred_count, 0);
  const total = (t.depth || 0) + inChannels;
  const consumers = chans.reduce((a, c) => a + c.client_count, 0);
  const id = ctx.action({
    method: 'DELETE', path: topicPath(t.topic_name),
    confirm: {
      title: `Delete topic “${t.topic_name}”?`,
      body: html`<p>This <b>deletes topic ${t.topic_name}</b>${nodes(t.nodes)}, <b>its ${plural(chans.length, 'channel')}</b> and <b>${num(total)} ${total === 1 ? 'message' : 'messages'}</b> (${num(t.depth || 0)} in the topic, ${num(inChannels)} in channels, counting in-flight and deferred), and removes it from nsqlookupd.</p>
        ${consumers ? html`<p>${plural(consumers, 'connected consumer')} will be disconnected.</p>` : ''}
        <p>A producer that publishes to it again re-creates it, with no channels. This cannot be undone.</p>`,
      ok: `Delete topic (lose ${num(total)} messages)`,
    },
    done: `Deleted topic ${t.topic_name}`, failed: `Could not delete topic ${t.topic_name}`,
    then: onDone,
  });
  return html`<button type="button" class="btn btn-danger" data-act="${id}" data-action="delete">Delete topic…</button>`;
}

// tombstoneButton removes one node as a producer of a topic.
export function tombstoneButton(ctx, topic, node, onDone) {
  if (!isAdmin || !NSQLOOKUPD.length) return '';
  const inChannels = (node.channels || []).reduce((a, c) => a + c.depth + c.in_flight_count + c.deferred_count, 0);
  const total = (node.depth || 0) + inChannels;
  const id = ctx.action({
    method: 'DELETE', path: '/nodes/' + enc(node.node), body: { topic },
    confirm: {
      title: `Tombstone topic “${topic}” on ${node.node}?`,
      body: html`<p>nsqlookupd will stop listing <b>${node.node}</b> as a producer of <b>${topic}</b>, so consumers stop connecting to it for this topic, and the topic is <b>deleted on that node</b> with <b>${num(total)} ${total === 1 ? 'message' : 'messages'}</b> (${num(node.depth || 0)} in the topic, ${num(inChannels)} in its channels there).</p>
        <p>Other nodes keep the topic. This cannot be undone.</p>`,
      ok: `Tombstone on ${node.node} (lose ${num(total)} messages)`,
    },
    done: `Tombstoned topic ${topic} on ${node.node}`, failed: `Could not tombstone topic ${topic} on ${node.node}`,
    then: onDone,
  });
  return html`<button type="button" class="btn btn-small btn-danger-outline" data-act="${id}" data-action="tombstone">Tombstone…</button>`;
}

export function homeLink() { return link(); }
