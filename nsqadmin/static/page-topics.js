// The front page: every topic with its backlog, rate, channels and paused
// state, the channels that need attention, and the cluster's charts.

import { html } from './html.js';
import { get } from './api.js';
import { num, rate, plural } from './fmt.js';
import { topicLink, channelLink } from './links.js';
import { tiles, badge, pausedBadge, loadHistory, historyCharts } from './ui.js';
import { sparkline, metricTarget, graphEnabled, intervalPicker } from './graphite.js';

let filter = '';
let sortKey = localStorage.getItem('nsqadmin.topicSort') || 'name';

const SORTS = {
  name: (a, b) => a.topic_name.localeCompare(b.topic_name),
  backlog: (a, b) => b.backlog - a.backlog || a.topic_name.localeCompare(b.topic_name),
  rate: (a, b) => (b.rate || 0) - (a.rate || 0) || a.topic_name.localeCompare(b.topic_name),
};

function chip(t, c) {
  const cls = ['chip'];
  const why = [];
  if (c.growing) { cls.push('chip-growing'); why.push('depth is growing'); }
  if (c.depth > 0 && c.client_count === 0) { cls.push('chip-orphan'); why.push('messages queued but no consumer connected'); }
  if (c.paused) { cls.push('chip-paused'); why.push('paused'); }
  const title = `${c.channel_name}: ${num(c.depth)} queued, ${num(c.in_flight_count)} in flight, ${plural(c.client_count, 'consumer')}${why.length ? ' — ' + why.join(', ') : ''}`;
  return html`<a class="${cls.join(' ')}" href="${channelLink(t.topic_name, c.channel_name)}" data-nav data-channel="${c.channel_name}" title="${title}">${c.channel_name} <b>${num(c.depth)}</b>${c.growing ? html`<span class="up" aria-label="growing">▲</span>` : ''}</a>`;
}

function attention(topics) {
  const items = [];
  for (const t of topics) {
    for (const c of t.channels) {
      const reasons = [];
      if (c.growing) reasons.push('depth growing');
      if (c.depth > 0 && c.client_count === 0) reasons.push('no consumers');
      if (c.paused && c.depth > 0) reasons.push('paused');
      if (reasons.length) items.push({ t, c, reasons });
    }
  }
  if (!items.length) return '';
  items.sort((a, b) => b.c.depth - a.c.depth);
  return html`<section class="attention" data-attention>
    <h2>Needs attention</h2>
    <ul>${items.slice(0, 12).map(({ t, c, reasons }) => html`<li data-growing="${c.growing ? 'true' : 'false'}">
      <a href="${channelLink(t.topic_name, c.channel_name)}" data-nav>${t.topic_name} / ${c.channel_name}</a>:
      <b>${num(c.depth)}</b> queued${c.rate !== null ? html`, ${rate(c.rate)} in` : ''} — ${reasons.join(', ')}</li>`)}</ul>
    ${items.length > 12 ? html`<p class="muted">and ${items.length - 12} more</p>` : ''}
  </section>`;
}

export const pageTopics = {
  title: () => 'Topics',
  nav: 'topics',
  async load() {
    const [overview, hist] = await Promise.all([get('/overview'), loadHistory()]);
    return { ...overview, history: hist };
  },
  render(d, _p, ctx) {
    const topics = d.topics || [];
    const sum = (f) => topics.reduce((a, t) => a + (f(t) || 0), 0);
    const rates = topics.filter((t) => t.rate !== null);
    const clusterRate = rates.length ? rates.reduce((a, t) => a + t.rate, 0) : null;
    const shown = topics.filter((t) => t.topic_name.toLowerCase().includes(filter.toLowerCase())).sort(SORTS[sortKey] || SORTS.name);
    const sortButton = (key, label) => {
      const id = ctx.action({ run: () => { sortKey = key; localStorage.setItem('nsqadmin.topicSort', key); ctx.rerender(); } });
      return html`<button type="button" class="sort${sortKey === key ? ' sort-on' : ''}" data-act="${id}" title="Sort by ${label.toLowerCase()}">${label}${sortKey === key ? (key === 'name' ? ' ▲' : ' ▼') : ''}</button>`;
    };
    return html`<section data-page="topics">
      <div class="page-head">
        <h1>Topics</h1>
        <input id="topic-filter" type="search" placeholder="Filter topics" value="${filter}" aria-label="Filter topics" autocomplete="off">
      </div>
      ${tiles([
        { key: 'topics', label: 'Topics', value: num(topics.length) },
        { key: 'nodes', label: 'nsqd nodes', value: num(d.node_count) },
        { key: 'backlog', label: 'Backlog', value: num(sum((t) => t.backlog)), sub: 'queued in topics + channels', warn: topics.some((t) => t.growing) },
        { key: 'in_flight', label: 'In flight', value: num(sum((t) => t.in_flight_count)) },
        { key: 'rate', label: 'Publish rate', value: rate(clusterRate), title: 'Messages per second published to all topics, over the last sample interval' },
        { key: 'clients', label: 'Consumers', value: num(sum((t) => t.client_count)) },
      ])}
      ${attention(topics)}
      ${historyCharts('cluster', d.history, { rateLabel: 'published/s', depthLabel: 'backlog' })}
      ${graphEnabled ? intervalPicker(ctx) : ''}
      ${topics.length === 0 ? html`<div class="empty-box">No topics yet. A topic appears when something publishes to an nsqd${NSQLOOKUPD.length ? html`, or when it is created on the <a href="${BASE_PATH === '/' ? '' : BASE_PATH}/lookup" data-nav>Lookup</a> page` : ''}.</div>` : html`
      <div class="table-wrap"><table class="table topics-table" data-table="topics">
        <thead><tr>
          <th>${sortButton('name', 'Topic')}</th>
          <th class="num">${sortButton('backlog', 'Backlog')}</th>
          <th class="num" title="Messages waiting in the topic itself, not yet copied to channels">Topic depth</th>
          <th class="num">In flight</th>
          <th class="num">${sortButton('rate', 'Rate')}</th>
          <th class="num">Messages</th>
          <th>Channels (queued)</th>
          <th class="num">Nodes</th>
          ${graphEnabled ? html`<th>Graphite</th>` : ''}
        </tr></thead>
        <tbody>${shown.map((t) => html`<tr data-topic="${t.topic_name}" class="${t.growing ? 'row-growing' : ''}">
          <td class="name"><a href="${topicLink(t.topic_name)}" data-nav>${t.topic_name}</a> ${pausedBadge(t.paused)}
            ${t.growing ? badge('backlog growing', 'growing', 'The backlog rose over the last samples') : ''}
            ${t.node_count === 0 ? badge('no producers', 'muted', 'nsqlookupd knows this topic but no nsqd has it') : ''}</td>
          <td class="num" data-field="backlog"><b>${num(t.backlog)}</b></td>
          <td class="num" data-field="depth">${num(t.depth)}</td>
          <td class="num" data-field="in_flight">${num(t.in_flight_count)}</td>
          <td class="num" data-field="rate">${rate(t.rate)}</td>
          <td class="num" data-field="messages">${num(t.message_count)}</td>
          <td class="chips" data-field="channels"><span class="chip-count">${num(t.channel_count)}</span>${t.channels.map((c) => chip(t, c))}</td>
          <td class="num" data-field="nodes">${num(t.node_count)}</td>
          ${graphEnabled ? html`<td class="spark">${sparkline(metricTarget('*', t.topic_name, '', 'depth'), 'depth', 'depth')}${sparkline(metricTarget('*', t.topic_name, '', 'message_count'), 'message_count', 'message rate')}</td>` : ''}
        </tr>`)}</tbody>
      </table></div>
      ${shown.length === 0 ? html`<p class="muted">No topic matches “${filter}”.</p>` : ''}`}
    </section>`;
  },
  after() {
    const input = document.getElementById('topic-filter');
    if (!input) return;
    input.addEventListener('input', () => {
      filter = input.value;
      for (const tr of document.querySelectorAll('tr[data-topic]')) {
        tr.hidden = !tr.dataset.topic.toLowerCase().includes(filter.toLowerCase());
      }
    });
  },
};
