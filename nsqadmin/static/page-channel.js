// A channel: its queue, its nodes, its consumers (told apart by host:port,
// with requeues and timeouts), charts and the channel's admin actions.

import { html } from './html.js';
import { get, enc, ApiError } from './api.js';
import { num, rate, duration, plural } from './fmt.js';
import { link, topicLink, nodeLink } from './links.js';
import { go } from './app.js';
import {
  tiles, badge, pausedBadge, e2e, hasE2E, loadHistory, historyCharts, isAdmin,
  pauseButton, emptyChannelButton, deleteChannelButton,
} from './ui.js';
import { graphEnabled, intervalPicker, largeGraph, metricTarget, e2eTargets } from './graphite.js';
import { explainMissing } from './page-topic.js';
import { loadOps, loadLag, deadLetters, peekPanel, finLatency, oldestAge } from './channel-ops.js';
import { loadReplay, rewindForm } from './replay.js';

function port(addr) {
  const i = (addr || '').lastIndexOf(':');
  return i >= 0 ? addr.slice(i + 1) : '';
}

// timedOut estimates a consumer's timed-out messages: every message
// delivered to it was finished, requeued, is in flight, or timed out.
function timedOut(c) {
  return Math.max(0, c.message_count - c.finish_count - c.requeue_count - c.in_flight_count);
}

function attrs(c) {
  const out = [badge(c.version || 'V2', 'muted')];
  if (c.tls) out.push(badge(`TLS ${c.tls_version || ''}`.trim(), 'ok', [c.tls_cipher_suite, c.tls_negotiated_protocol].filter(Boolean).join(' ')));
  if (c.deflate) out.push(badge('deflate', 'muted'));
  if (c.snappy) out.push(badge('snappy', 'muted'));
  if (c.sample_rate > 0) out.push(badge(`sampled ${c.sample_rate}%`, 'warn'));
  if (c.authed) {
    out.push(/^https?:\/\//i.test(c.auth_identity_url || '')
      ? html`<a class="badge badge-ok" href="${c.auth_identity_url}" target="_blank" rel="noopener">auth: ${c.auth_identity || 'yes'}</a>`
      : badge('auth: ' + (c.auth_identity || 'yes'), 'ok'));
  }
  return out;
}

function topology(c) {
  if (!c.topology_region && !c.topology_zone) return html`<span class="muted">—</span>`;
  const where = [c.topology_region, c.topology_zone].filter(Boolean).join(' / ');
  const local = c.topology_region === c.node_topology_region && c.topology_zone === c.node_topology_zone;
  return html`${where}${local ? html` <span class="muted">(same as node)</span>` : ''}`;
}

function delivery(s) {
  if (!s.delivery_msg_count) return '';
  return html`<span title="zone-local / region-local / global deliveries">${num(s.zone_local_msg_count || 0)} / ${num(s.region_local_msg_count || 0)} / ${num(s.global_msg_count || 0)}</span>`;
}

export const pageChannel = {
  title: (p) => `Channel ${p.topic} / ${p.channel}`,
  nav: 'topics',
  async load(p) {
    // a channel no node has is 404 CHANNEL_NOT_FOUND: shown as missing
    const missing = (e) => {
      if (e instanceof ApiError && e.status === 404) return {};
      throw e;
    };
    const [stats, hist, ops, lag, replay] = await Promise.all([
      get('/topics/' + enc(p.topic) + '/' + enc(p.channel)).catch(missing), loadHistory(p.topic, p.channel),
      loadOps(p.topic, p.channel), loadLag(p.topic), loadReplay(p.topic)]);
    return { stats, hist, ops, lag: lag[p.channel] || {}, replay, message: stats.message };
  },
  explain: (e, p) => explainMissing(e, p.topic),
  render({ stats: s, hist, ops, lag, replay }, p, ctx) {
    const crumbs = html`<nav class="crumbs"><a href="${link()}" data-nav>Topics</a> › <a href="${topicLink(p.topic)}" data-nav>${p.topic}</a> › <span>${p.channel}</span></nav>`;
    if (!s.channel_name) {
      return html`<section data-page="channel" data-missing="true">${crumbs}
        <h1>Channel <span class="ident">${p.channel}</span></h1>
        <div class="error-box" role="alert"><p class="error-what">Channel “${p.channel}” does not exist on any nsqd of topic “${p.topic}”.</p>
        <p>It may have been deleted, or no consumer has subscribed to it yet. <a href="${topicLink(p.topic)}" data-nav>See the channels of ${p.topic}</a>.</p></div>
      </section>`;
    }
    const nodes = s.nodes || [];
    const clients = s.clients || [];
    const trend = hist.trend || {};
    const showE2E = hasE2E(nodes);
    const showDelivery = nodes.some((n) => n.delivery_msg_count);
    return html`<section data-page="channel" data-topic="${s.topic_name}" data-channel="${s.channel_name}">
      ${crumbs}
      <div class="page-head">
        <h1>Channel <span class="ident">${s.channel_name}</span> <span class="muted">of ${s.topic_name}</span> ${pausedBadge(s.paused)} ${trend.growing ? badge('depth growing', 'growing') : ''}</h1>
        ${isAdmin ? html`<div class="actions">
          ${pauseButton(ctx, s.topic_name, s.channel_name, s.paused)}
          ${emptyChannelButton(ctx, s)}
          ${deleteChannelButton(ctx, s, () => go(topicLink(s.topic_name)))}
        </div>` : ''}
      </div>
      ${tiles([
        { key: 'depth', label: 'Depth', value: num(s.depth), sub: `${num(s.memory_depth)} memory + ${num(s.backend_depth)} disk`, warn: trend.growing },
        { key: 'in_flight', label: 'In flight', value: num(s.in_flight_count) },
        { key: 'deferred', label: 'Deferred', value: num(s.deferred_count) },
        { key: 'requeued', label: 'Requeued', value: num(s.requeue_count) },
        { key: 'timed_out', label: 'Timed out', value: num(s.timeout_count) },
        { key: 'messages', label: 'Messages', value: num(s.message_count), sub: 'handed to this channel' },
        { key: 'rate', label: 'Rate', value: rate(trend.rate) },
        { key: 'clients', label: 'Consumers', value: num(s.client_count), warn: s.client_count === 0 && s.depth > 0 },
        { key: 'oldest', label: 'Oldest waiting', value: oldestAge(lag.oldest_msg_age_ms), sub: 'since publish' },
        { key: 'fin_latency', label: 'Delivery → FIN', value: finLatency(lag.fin_latency) },
        { key: 'dead_letters', label: 'Dead letters', value: num(lag.dead_letter_count || 0), warn: lag.dead_letter_count > 0,
          sub: lag.max_attempts ? `after ${num(lag.max_attempts)} attempts` : 'no attempt limit' },
      ])}
      ${rewindForm(ctx, s, replay)}
      ${historyCharts('channel', hist, { rateLabel: 'messages/s', depthLabel: 'depth', requeues: true, oldest: true })}
      ${graphEnabled ? html`${intervalPicker(ctx)}<div class="graphite-row">
        ${largeGraph([metricTarget('*', s.topic_name, s.channel_name, 'depth')], 'depth', 'Depth (Graphite)')}
        ${largeGraph([metricTarget('*', s.topic_name, s.channel_name, 'message_count')], 'message_count', 'Messages/s (Graphite)')}
        ${largeGraph([metricTarget('*', s.topic_name, s.channel_name, 'in_flight_count')], 'in_flight_count', 'In flight (Graphite)')}
        ${showE2E ? largeGraph(e2eTargets('*', s.topic_name, s.channel_name, (s.e2e_processing_latency || {}).percentiles), 'e2e_processing_latency', 'E2E latency (Graphite)') : ''}
      </div>` : ''}

      <h2>Consumers <span class="muted">(${num(clients.length)})</span></h2>
      ${clients.length === 0 ? html`<div class="empty-box">No consumer is connected to this channel${s.depth ? html`: its ${num(s.depth)} messages are waiting` : ''}.</div>` : html`
      <div class="table-wrap"><table class="table" data-table="clients">
        <thead><tr><th>Client (host:port)</th><th>Node</th><th>User agent</th><th>Attributes</th><th>Topology</th><th class="num">Connected</th>
          <th class="num">Ready</th><th class="num">In flight</th><th class="num">Finished</th><th class="num">Requeued</th>
          <th class="num" title="Estimated: delivered − finished − requeued − in flight">Timed out</th><th class="num">Messages</th></tr></thead>
        <tbody>${clients.map((c) => html`<tr data-client="${c.hostname}:${port(c.remote_address)}">
          <td class="name"><b>${c.hostname}:${port(c.remote_address)}</b>
            ${c.client_id && c.client_id !== c.hostname ? html`<div class="muted small">id ${c.client_id}</div>` : ''}
            <div class="muted small">${c.remote_address}</div></td>
          <td><a href="${nodeLink(c.node)}" data-nav>${c.node}</a></td>
          <td>${c.user_agent || html`<span class="muted">—</span>`}</td>
          <td class="attrs">${attrs(c)}</td>
          <td>${topology(c)}</td>
          <td class="num" title="since ${new Date(c.connect_ts * 1000).toLocaleString()}">${duration(c.connected)}</td>
          <td class="num">${num(c.ready_count)}</td>
          <td class="num">${num(c.in_flight_count)}</td>
          <td class="num">${num(c.finish_count)}</td>
          <td class="num${c.requeue_count ? ' warn-text' : ''}" data-field="requeued">${num(c.requeue_count)}</td>
          <td class="num${timedOut(c) ? ' warn-text' : ''}" data-field="timed_out">${num(timedOut(c))}</td>
          <td class="num">${num(c.message_count)}</td>
        </tr>`)}</tbody>
      </table></div>`}

      <h2>Nodes</h2>
      <div class="table-wrap"><table class="table" data-table="nodes">
        <thead><tr><th>Node</th><th>Hostname</th><th class="num">Depth</th><th class="num" title="in memory + on disk">Memory + Disk</th>
          <th class="num">In flight</th><th class="num">Deferred</th><th class="num">Requeued</th><th class="num">Timed out</th>
          <th class="num">Messages</th><th class="num">Consumers</th>${showDelivery ? html`<th class="num">Zone / region / global</th>` : ''}${showE2E ? html`<th>E2E latency</th>` : ''}</tr></thead>
        <tbody>${nodes.map((n) => html`<tr data-node="${n.node}">
          <td><a href="${nodeLink(n.node)}" data-nav>${n.node}</a> ${pausedBadge(n.paused)}</td>
          <td>${n.hostname}</td>
          <td class="num">${num(n.depth)}</td>
          <td class="num">${num(n.memory_depth)} + ${num(n.backend_depth)}</td>
          <td class="num">${num(n.in_flight_count)}</td>
          <td class="num">${num(n.deferred_count)}</td>
          <td class="num">${num(n.requeue_count)}</td>
          <td class="num">${num(n.timeout_count)}</td>
          <td class="num">${num(n.message_count)}</td>
          <td class="num">${num(n.client_count)}</td>
          ${showDelivery ? html`<td class="num">${delivery(n)}</td>` : ''}
          ${showE2E ? html`<td>${e2e(n.e2e_processing_latency)}</td>` : ''}
        </tr>`)}</tbody>
        <tfoot><tr><th>Total</th><th>${plural(nodes.length, 'node')}</th><th class="num">${num(s.depth)}</th><th class="num">${num(s.memory_depth)} + ${num(s.backend_depth)}</th>
          <th class="num">${num(s.in_flight_count)}</th><th class="num">${num(s.deferred_count)}</th><th class="num">${num(s.requeue_count)}</th>
          <th class="num">${num(s.timeout_count)}</th><th class="num">${num(s.message_count)}</th><th class="num">${num(s.client_count)}</th>
          ${showDelivery ? html`<th class="num">${delivery(s)}</th>` : ''}${showE2E ? html`<th>${e2e(s.e2e_processing_latency)}</th>` : ''}</tr></tfoot>
      </table></div>

      ${deadLetters(ops, s, ctx)}
      ${peekPanel(ops, ctx)}
    </section>`;
  },
};
