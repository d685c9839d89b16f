// Replication (beyond NSQ): the groups a node is a member of, as its
// /stats "replication" section says (leader, term, commit and applied
// index, each member's match index and lag), and a visible warning for a
// group without quorum, whose publishes fail until a majority is back.

import { html } from './html.js';
import { get } from './api.js';
import { num, plural } from './fmt.js';
import { badge } from './ui.js';

// loadReplication fetches every node's section for the nodes list; a
// failure leaves the column out and says so.
export async function loadReplication() {
  try {
    const r = await get('/replication');
    const byNode = Object.fromEntries((r.nodes || []).map((n) => [n.node, n]));
    return { any: (r.nodes || []).some((n) => n.replication), byNode, nodes: r.nodes || [] };
  } catch (e) {
    return { any: false, byNode: {}, nodes: [], error: e.message };
  }
}

function ids(list) {
  return list.join(', ');
}

// replicationCell summarizes a node's section in the nodes list.
export function replicationCell(r) {
  if (!r || !r.replication) return html`<span class="muted">off</span>`;
  const rep = r.replication;
  const groups = rep.groups || [];
  const leads = groups.filter((g) => g.leader === rep.node_id).length;
  const bad = r.without_quorum || [];
  return html`<span>node ${rep.node_id}: ${plural(groups.length, 'group')}, leads ${num(leads)}</span>
    ${bad.length ? badge(`no quorum: group ${ids(bad)}`, 'danger', 'Publishes to these groups fail until a majority of their members is back') : ''}`;
}

// noQuorumBox warns, above the nodes list, of every group that some node
// sees without quorum.
export function noQuorumBox(repl) {
  const seen = new Map(); // group id → nodes that see it without quorum
  for (const n of repl.nodes) {
    for (const id of n.without_quorum || []) {
      if (!seen.has(id)) seen.set(id, []);
      seen.get(id).push(n.node);
    }
  }
  const note = repl.error ? html`<p class="warn-box small">Replication state unavailable: ${repl.error}</p>` : '';
  if (seen.size === 0) return note;
  const groups = [...seen.keys()].sort((a, b) => a - b);
  return html`${note}<div class="error-box" role="alert" data-warn="no-quorum">
    <p class="error-what">${groups.length === 1 ? `Replication group ${groups[0]} has` : `Replication groups ${ids(groups)} have`} no quorum.</p>
    <p>Publishing to ${groups.length === 1 ? 'it' : 'them'} fails (E_PUB_FAILED, HTTP 503) until a majority of the members is back.
    ${groups.map((g, i) => html`${i ? ' ' : ''}Group ${g} is reported without quorum by ${ids(seen.get(g))}.`)}</p></div>`;
}

function lag(m) {
  if (m.lag < 0) return html`<span class="muted" title="this node does not know the member's progress">unknown</span>`;
  return html`<span class="${m.lag > 0 ? 'warn-text' : ''}">${num(m.lag)}</span>`;
}

function groupRows(rep, g) {
  const members = g.members || [];
  const active = members.filter((m) => m.active).length;
  return html`<tbody class="group" data-group="${g.id}">
    <tr class="group-head${g.has_quorum ? '' : ' row-warn'}">
      <th>Group ${g.id} ${g.leader === rep.node_id ? badge('led by this node', 'ok') : ''}</th>
      <td data-field="leader">${g.leader ? html`node ${g.leader}` : html`<span class="warn-text">none known</span>`}</td>
      <td class="num" data-field="term">${num(g.term)}</td>
      <td class="num" data-field="commit_index">${num(g.commit_index)}</td>
      <td class="num" data-field="applied_index">${num(g.applied_index)}</td>
      <td></td><td></td>
      <td data-field="quorum">${g.has_quorum ? badge('quorum', 'ok', `${active} of ${members.length} members active`)
        : badge('no quorum', 'danger', `${active} of ${members.length} members active`)}</td>
    </tr>
    ${members.map((m) => html`<tr data-member="${m.node_id}">
      <td class="indent">node ${m.node_id} <span class="muted small">${m.address}</span>
        ${m.node_id === g.leader ? badge('leader', 'muted') : ''} ${m.node_id === rep.node_id ? badge('this node', 'muted') : ''}</td>
      <td></td><td></td><td></td><td></td>
      <td class="num" data-field="match_index">${num(m.match_index)}</td>
      <td class="num" data-field="lag">${lag(m)}</td>
      <td data-field="active">${m.active ? 'active' : html`<span class="warn-text">inactive</span>`}</td>
    </tr>`)}
  </tbody>`;
}

// replicationSection is the node page's panel (nothing when the node
// does not replicate).
export function replicationSection(rep) {
  if (!rep) return '';
  const groups = rep.groups || [];
  const bad = groups.filter((g) => !g.has_quorum);
  return html`<section class="ops" data-ops="replication">
    <h2>Replication <span class="muted">(node ${rep.node_id}, factor ${rep.factor}, ${plural(groups.length, 'group')})</span></h2>
    ${bad.length ? html`<div class="error-box" role="alert">
      ${bad.map((g) => {
        const members = g.members || [];
        const active = members.filter((m) => m.active).length;
        return html`<p class="error-what" data-warn="no-quorum" data-group="${g.id}">Group ${g.id} has no quorum: ${active} of ${members.length} members active${g.leader ? '' : ', no leader known'}.</p>`;
      })}
      <p>Publishing to ${bad.length === 1 ? 'it' : 'them'} fails (E_PUB_FAILED, HTTP 503) until a majority of the members is back.</p></div>` : ''}
    ${groups.length === 0 ? html`<div class="empty-box">This node is a member of no group.</div>` : html`
    <div class="table-wrap"><table class="table" data-table="replication">
      <thead><tr><th>Group / member</th><th>Leader</th><th class="num">Term</th><th class="num">Commit index</th><th class="num">Applied index</th>
        <th class="num">Match index</th><th class="num" title="entries behind the commit index (unknown: this node does not know)">Lag</th><th>State</th></tr></thead>
      ${groups.map((g) => groupRows(rep, g))}
    </table></div>`}
  </section>`;
}
