// A topic: the backlog its channels hold (not only the topic's own depth),
// its nodes and channels, charts, and the topic's admin actions.

import { html } from './html.js';
import { get, enc, ApiError } from './api.js';
import { num, rate, plural } from './fmt.js';
import { link, topicLink, channelLink, nodeLink } from './links.js';
import { go } from './app.js';
import {
  tiles, badge, pausedBadge, e2e, hasE2E, loadHistory, historyCharts, isAdmin,
  pauseButton, emptyTopicButton, deleteTopicButton, tombstoneButton,
} from './ui.js';
import { graphEnabled, intervalPicker, largeGraph, metricTarget, e2eTargets } from './graphite.js';
import { loadLag, finLatency, oldestAge } from './channel-ops.js';
import { loadReplay, newChannelForm } from './replay.js';

// explainMissing turns "no upstream answered" into what it means for a topic.
export async function explainMissing(e, topic) {
  if (!(e instanceof ApiError) || e.status !== 502) return null;
  try {
    const l = await get('/topics');
    if (!(l.topics || []).includes(topic)) {
      return `Topic “${topic}” does not exist: no ${NSQLOOKUPD.length ? 'nsqlookupd' : 'nsqd'} knows it.`;
    }
    return `Topic “${topic}” is known, but no nsqd that holds it answered: it may have no producers right now, or its nodes are down.`;
  } catch (_) {
    return null;
  }
}

export const pageTopic = {
  title: (p) => 'Topic ' + p.topic,
  nav: 'topics',
  async load(p) {
    const [stats, hist, lag, replay] = await Promise.all([get('/topics/' + enc(p.topic)), loadHistory(p.topic), loadLag(p.topic), loadReplay(p.topic)]);
    return { stats, hist, lag, replay, message: stats.message };
  },
  explain: (e, p) => explainMissing(e, p.topic),
  render({ stats: t, hist, lag, replay }, p, ctx) {
    const chans = t.channels || [];
    const nodes = t.nodes || [];
    const trends = hist.channels || {};
    const chanDepth = chans.reduce((a, c) => a + c.depth, 0);
    const backlog = t.depth + chanDepth;
    const inFlight = chans.reduce((a, c) => a + c.in_flight_count, 0);
    const deferred = chans.reduce((a, c) => a + c.deferred_count, 0);
    const consumers = chans.reduce((a, c) => a + c.client_count, 0);
    const showE2E = hasE2E(nodes) || hasE2E(chans);
    const trend = hist.trend || {};
    return html`<section data-page="topic" data-topic="${t.topic_name}">
      <nav class="crumbs"><a href="${link()}" data-nav>Topics</a> › <span>${t.topic_name}</span></nav>
      <div class="page-head">
        <h1>Topic <span class="ident">${t.topic_name}</span> ${pausedBadge(t.paused)} ${trend.growing ? badge('backlog growing', 'growing') : ''}</h1>
        ${isAdmin ? html`<div class="actions">
          ${pauseButton(ctx, t.topic_name, undefined, t.paused)}
          ${emptyTopicButton(ctx, t, chanDepth)}
          ${deleteTopicButton(ctx, t, () => go(link()))}
        </div>` : ''}
      </div>
      ${tiles([
        { key: 'backlog', label: 'Backlog', value: num(backlog), sub: `${num(t.depth)} in topic + ${num(chanDepth)} in channels`, warn: trend.growing },
        { key: 'in_flight', label: 'In flight', value: num(inFlight) },
        { key: 'deferred', label: 'Deferred', value: num(deferred) },
        { key: 'rate', label: 'Publish rate', value: rate(trend.rate) },
        { key: 'messages', label: 'Messages', value: num(t.message_count), sub: 'published since nsqd start' },
        { key: 'channels', label: 'Channels', value: num(chans.length), sub: plural(consumers, 'consumer') },
        { key: 'nodes', label: 'Nodes', value: num(nodes.length) },
      ])}
      ${newChannelForm(ctx, t.topic_name, replay)}
      ${historyCharts('topic', hist, { rateLabel: 'published/s', depthLabel: 'backlog (topic + channels)', oldest: true })}
      ${graphEnabled ? html`${intervalPicker(ctx)}<div class="graphite-row">
        ${largeGraph([metricTarget('*', t.topic_name, '', 'depth')], 'depth', 'Depth (Graphite)')}
        ${largeGraph([metricTarget('*', t.topic_name, '', 'message_count')], 'message_count', 'Messages/s (Graphite)')}
        ${showE2E ? largeGraph(e2eTargets('*', t.topic_name, '', (t.e2e_processing_latency || {}).percentiles), 'e2e_processing_latency', 'E2E latency (Graphite)') : ''}
      </div>` : ''}

      <h2>Channels</h2>
      ${chans.length === 0 ? html`<div class="empty-box">Topic <b>${t.topic_name}</b> has no channels: its ${num(t.depth)} messages wait in the topic until a consumer subscribes to a channel.</div>` : html`
      <div class="table-wrap"><table class="table" data-table="channels">
        <thead><tr><th>Channel</th><th class="num">Depth</th><th class="num" title="in memory + on disk">Memory + Disk</th>
          <th class="num">In flight</th><th class="num">Deferred</th><th class="num">Requeued</th><th class="num">Timed out</th>
          <th class="num">Messages</th><th class="num">Rate</th><th class="num">Consumers</th>
          <th class="num" title="Age of the oldest message waiting for delivery">Oldest waiting</th><th title="Delivery → FIN latency">FIN latency</th>
          <th class="num" title="Messages moved to the dead-letter topic since nsqd start">Dead letters</th>${showE2E ? html`<th>E2E latency</th>` : ''}</tr></thead>
        <tbody>${chans.map((c) => {
          const tr = trends[c.channel_name] || {};
          return html`<tr data-channel="${c.channel_name}" class="${tr.growing ? 'row-growing' : ''}">
            <td class="name"><a href="${channelLink(t.topic_name, c.channel_name)}" data-nav>${c.channel_name}</a> ${pausedBadge(c.paused)}
              ${tr.growing ? badge('growing', 'growing', 'Depth rose over the last samples') : ''}
              ${c.depth > 0 && c.client_count === 0 ? badge('no consumers', 'orphan', 'Messages are queued but nothing consumes them') : ''}</td>
            <td class="num" data-field="depth"><b>${num(c.depth)}</b></td>
            <td class="num">${num(c.memory_depth)} + ${num(c.backend_depth)}</td>
            <td class="num" data-field="in_flight">${num(c.in_flight_count)}</td>
            <td class="num">${num(c.deferred_count)}</td>
            <td class="num">${num(c.requeue_count)}</td>
            <td class="num">${num(c.timeout_count)}</td>
            <td class="num" data-field="messages">${num(c.message_count)}</td>
            <td class="num">${rate(tr.rate)}</td>
            <td class="num" data-field="clients">${num(c.client_count)}</td>
            <td class="num" data-field="oldest">${oldestAge((lag[c.channel_name] || {}).oldest_msg_age_ms)}</td>
            <td data-field="fin_latency">${finLatency((lag[c.channel_name] || {}).fin_latency)}</td>
            <td class="num${(lag[c.channel_name] || {}).dead_letter_count ? ' warn-text' : ''}" data-field="dead_letters">${num((lag[c.channel_name] || {}).dead_letter_count || 0)}</td>
            ${showE2E ? html`<td>${e2e(c.e2e_processing_latency)}</td>` : ''}
          </tr>`;
        })}</tbody>
      </table></div>`}

      <h2>Nodes</h2>
      <div class="table-wrap"><table class="table" data-table="nodes">
        <thead><tr><th>Node</th><th>Hostname</th><th class="num">Depth</th><th class="num" title="in memory + on disk">Memory + Disk</th>
          <th class="num">Messages</th><th class="num">Channels</th>${showE2E ? html`<th>E2E latency</th>` : ''}${isAdmin && NSQLOOKUPD.length ? html`<th></th>` : ''}</tr></thead>
        <tbody>${nodes.map((n) => html`<tr data-node="${n.node}">
          <td><a href="${nodeLink(n.node)}" data-nav>${n.node}</a> ${pausedBadge(n.paused)}</td>
          <td>${n.hostname}</td>
          <td class="num">${num(n.depth)}</td>
          <td class="num">${num(n.memory_depth)} + ${num(n.backend_depth)}</td>
          <td class="num">${num(n.message_count)}</td>
          <td class="num">${num((n.channels || []).length)}</td>
          ${showE2E ? html`<td>${e2e(n.e2e_processing_latency)}</td>` : ''}
          ${isAdmin && NSQLOOKUPD.length ? html`<td class="row-actions">${tombstoneButton(ctx, t.topic_name, n)}</td>` : ''}
        </tr>`)}</tbody>
        <tfoot><tr><th>Total</th><th></th><th class="num">${num(t.depth)}</th><th class="num">${num(t.memory_depth)} + ${num(t.backend_depth)}</th>
          <th class="num">${num(t.message_count)}</th><th class="num">${num(chans.length)}</th>${showE2E ? html`<th>${e2e(t.e2e_processing_latency)}</th>` : ''}${isAdmin && NSQLOOKUPD.length ? html`<th></th>` : ''}</tr></tfoot>
      </table></div>
    </section>`;
  },
};

