// The counter: the total number of messages handed to every channel of the
// cluster, counting up live, with the cluster's rate.

import { html } from './html.js';
import { get } from './api.js';
import { num, rate } from './fmt.js';
import { loadHistory, historyCharts } from './ui.js';
import { graphEnabled, intervalPicker, largeGraph, counterTarget } from './graphite.js';

let shown = null; // the number on screen, animated towards the latest total
let anim = null;

function animate(to, ms) {
  cancelAnimationFrame(anim);
  const el = document.getElementById('counter-value');
  if (!el) return;
  const from = shown === null || shown > to ? to : shown;
  const start = performance.now();
  const step = (now) => {
    const f = Math.min(1, (now - start) / ms);
    shown = Math.round(from + (to - from) * f);
    el.textContent = num(shown);
    if (f < 1) anim = requestAnimationFrame(step);
  };
  anim = requestAnimationFrame(step);
}

export const pageCounter = {
  title: () => 'Counter',
  nav: 'counter',
  refreshMs: 2000,
  async load() {
    const [c, hist] = await Promise.all([get('/counter'), loadHistory()]);
    return { ...c, hist };
  },
  render(d, _p, ctx) {
    const stats = Object.values(d.stats || {});
    const total = stats.reduce((a, s) => a + s.message_count, 0);
    const latest = (d.hist.points || []).filter((p) => p.rate !== null).slice(-1)[0];
    return html`<section data-page="counter">
      <div class="counter">
        <div class="counter-value" id="counter-value" data-total="${total}">${num(shown === null ? total : Math.min(shown, total))}</div>
        <div class="counter-label">messages handed to ${num(stats.length)} channels across the cluster${latest ? html` · now ${rate(latest.rate)} published` : ''}</div>
      </div>
      ${historyCharts('counter', d.hist, { rateLabel: 'published/s', depthLabel: 'backlog' })}
      ${graphEnabled ? html`${intervalPicker(ctx)}${largeGraph([counterTarget()], 'message_count', 'Messages/s (Graphite)')}` : ''}
    </section>`;
  },
  after(d) {
    const total = Object.values(d.stats || {}).reduce((a, s) => a + s.message_count, 0);
    animate(total, 1500);
  },
  leave() { shown = null; cancelAnimationFrame(anim); },
};
