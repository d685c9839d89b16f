// The nodes list and one node's topics, channels and consumers.

import { html } from './html.js';
import { get, enc, ApiError } from './api.js';
import { num, duration, plural } from './fmt.js';
import { topicLink, channelLink, nodeLink, link } from './links.js';
import { tiles, badge, pausedBadge } from './ui.js';
import { graphEnabled, intervalPicker, largeGraph, memTarget } from './graphite.js';
import { loadReplication, replicationCell, noQuorumBox, replicationSection } from './replication.js';

export const pageNodes = {
  title: () => 'Nodes',
  nav: 'nodes',
  async load() {
    const [d, repl] = await Promise.all([get('/nodes'), loadReplication()]);
    return { ...d, repl };
  },
  render(d) {
    const nodes = d.nodes || [];
    const lookupds = NSQLOOKUPD.length;
    const showTopology = nodes.some((n) => n.topology_region || n.topology_zone);
    const repl = d.repl;
    return html`<section data-page="nodes">
      <div class="page-head"><h1>Nodes <span class="muted">(${num(nodes.length)})</span></h1></div>
      ${noQuorumBox(repl)}
      ${nodes.length === 0 ? html`<div class="empty-box">No nsqd is ${lookupds ? 'registered with nsqlookupd' : 'answering'}.</div>` : html`
      <div class="table-wrap"><table class="table" data-table="nodes">
        <thead><tr><th>Hostname</th><th>Node (broadcast address:HTTP port)</th><th class="num">TCP port</th><th class="num">HTTP port</th><th>Version</th>
          ${showTopology ? html`<th>Region</th><th>Zone</th>` : ''}${lookupds ? html`<th>Lookupd connections</th>` : ''}${repl.any ? html`<th>Replication</th>` : ''}<th>Topics</th></tr></thead>
        <tbody>${nodes.map((n, i) => {
          const key = `${n.broadcast_address}:${n.http_port}`;
          const conns = (n.remote_addresses || []).length;
          const r = repl.byNode[key];
          const noQuorum = r && r.without_quorum && r.without_quorum.length > 0;
          return html`<tr data-node="${key}" class="${n.out_of_date || noQuorum ? 'row-warn' : ''}" ${noQuorum ? html`data-no-quorum="true"` : ''}>
            <td>${n.hostname}</td>
            <td><a href="${nodeLink(key)}" data-nav title="node ${key}">${key}</a></td>
            <td class="num">${n.tcp_port}</td>
            <td class="num">${n.http_port}</td>
            <td>${n.version} ${n.out_of_date ? badge('out of date', 'warn', 'Older than the newest nsqd in the cluster') : ''}</td>
            ${showTopology ? html`<td>${n.topology_region || '—'}</td><td>${n.topology_zone || '—'}</td>` : ''}
            ${lookupds ? html`<td class="${conns !== lookupds ? 'warn-text' : ''}">
              <details id="conns-${i}"><summary>${conns} of ${lookupds}${conns !== lookupds ? ' ⚠' : ''}</summary>
              <ul class="plain">${(n.remote_addresses || []).map((a) => html`<li><code>${a}</code></li>`)}</ul></details></td>` : ''}
            ${repl.any ? html`<td data-field="replication">${replicationCell(r)}</td>` : ''}
            <td class="chips">${(n.topics || []).length === 0 ? html`<span class="muted">none</span>` : (n.topics || []).map((t) => html`<a class="chip${t.tombstoned ? ' chip-tombstoned' : ''}" href="${topicLink(t.topic)}" data-nav title="${t.tombstoned ? 'tombstoned on this node' : ''}">${t.topic}</a>`)}</td>
          </tr>`;
        })}</tbody>
      </table></div>`}
    </section>`;
  },
};

function port(addr) {
  const i = (addr || '').lastIndexOf(':');
  return i >= 0 ? addr.slice(i + 1) : '';
}

export const pageNode = {
  title: (p) => 'Node ' + p.node,
  nav: 'nodes',
  load: (p) => get('/nodes/' + enc(p.node)),
  async explain(e, p) {
    if (e instanceof ApiError && e.status === 404) {
      return `Node “${p.node}” is not part of the cluster: ${NSQLOOKUPD.length ? 'no nsqlookupd lists it' : 'it is not one of the --nsqd-http-address nodes'}. Nodes are named broadcast_address:http_port.`;
    }
    if (e instanceof ApiError && e.status === 502) return `Node “${p.node}” did not answer.`;
    return null;
  },
  render(d, p, ctx) {
    const topics = d.topics || [];
    const channels = topics.reduce((a, t) => a + (t.channels || []).length, 0);
    return html`<section data-page="node" data-node="${d.node}">
      <nav class="crumbs"><a href="${link('nodes')}" data-nav>Nodes</a> › <span>${d.node}</span></nav>
      <div class="page-head"><h1>Node <span class="ident">${d.node}</span></h1></div>
      ${replicationSection(d.replication)}
      ${tiles([
        { key: 'topics', label: 'Topics', value: num(topics.length) },
        { key: 'channels', label: 'Channels', value: num(channels) },
        { key: 'clients', label: 'Consumers', value: num(d.total_clients) },
        { key: 'messages', label: 'Messages', value: num(d.total_messages), sub: 'published since nsqd start' },
      ])}
      ${graphEnabled ? html`${intervalPicker(ctx)}<div class="graphite-row">
        ${largeGraph([memTarget(d.node, 'heap_objects')], 'heap_objects', 'Heap objects (Graphite)')}
        ${largeGraph([memTarget(d.node, 'next_gc_bytes')], 'next_gc_bytes', 'Next GC bytes (Graphite)')}
        ${largeGraph(['gc_pause_usec_100', 'gc_pause_usec_99', 'gc_pause_usec_95'].map((m) => memTarget(d.node, m)), 'gc_pause_usec_100', 'GC pause µs (Graphite)')}
        ${largeGraph([memTarget(d.node, 'gc_runs')], 'gc_runs', 'GC runs (Graphite)')}
      </div>` : ''}
      ${topics.length === 0 ? html`<div class="empty-box">This node has no topics.</div>` : html`
      <div class="table-wrap"><table class="table" data-table="node-topics">
        <thead><tr><th>Topic / channel</th><th class="num">Depth</th><th class="num">Memory + Disk</th><th class="num">In flight</th>
          <th class="num">Deferred</th><th class="num">Requeued</th><th class="num">Timed out</th><th class="num">Messages</th><th class="num">Consumers</th></tr></thead>
        ${topics.map((t) => html`<tbody class="group" data-topic="${t.topic_name}">
          <tr class="group-head"><th><a href="${topicLink(t.topic_name)}" data-nav>${t.topic_name}</a> ${pausedBadge(t.paused)}</th>
            <td class="num">${num(t.depth)}</td><td class="num">${num(t.memory_depth)} + ${num(t.backend_depth)}</td>
            <td></td><td></td><td></td><td></td><td class="num">${num(t.message_count)}</td><td></td></tr>
          ${(t.channels || []).map((c, i) => html`<tr data-channel="${c.channel_name}">
            <td class="indent"><a href="${channelLink(t.topic_name, c.channel_name)}" data-nav>${c.channel_name}</a> ${pausedBadge(c.paused)}
              ${(c.clients || []).length ? html`<details id="cl-${t.topic_name}-${c.channel_name}"><summary class="muted small">${plural(c.clients.length, 'consumer')}</summary>
                <ul class="plain small">${c.clients.map((cl) => html`<li><b>${cl.hostname}:${port(cl.remote_address)}</b> ${cl.user_agent}
                  — ${num(cl.in_flight_count)} in flight, ${num(cl.finish_count)} finished, ${num(cl.requeue_count)} requeued, connected ${duration(cl.connected)}</li>`)}</ul></details>` : ''}</td>
            <td class="num">${num(c.depth)}</td><td class="num">${num(c.memory_depth)} + ${num(c.backend_depth)}</td>
            <td class="num">${num(c.in_flight_count)}</td><td class="num">${num(c.deferred_count)}</td><td class="num">${num(c.requeue_count)}</td>
            <td class="num">${num(c.timeout_count)}</td><td class="num">${num(c.message_count)}</td><td class="num">${num(c.client_count)}</td></tr>`)}
        </tbody>`)}
      </table></div>`}
    </section>`;
  },
};
