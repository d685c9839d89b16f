// Line charts drawn as inline SVG from nsqadmin's own history, so rates and
// depths over time need no Graphite. Each chart registers its data so the
// hover handler (installHover) can show the values under the pointer.

import { html, raw } from './html.js';
import { compact, clock, duration } from './fmt.js';

const W = 640, H = 190;
const PAD = { l: 52, r: 12, t: 12, b: 24 };
const registry = new Map();

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (v <= m * p) return m * p;
  }
  return 10 * p;
}

// chart returns the SVG of one chart. series: [{label, color, points: [[ms, value|null]]}].
export function chart({ id, title, series, format, intervalMs, unit }) {
  const all = series.flatMap((s) => s.points.filter((p) => p[1] !== null && p[1] !== undefined));
  const count = all.length;
  const now = Date.now();
  const times = series.flatMap((s) => s.points.map((p) => p[0]));
  // the axis covers the samples, and at least a minute (or six samples,
  // up to the whole history) so a young history is not stretched
  const minSpan = Math.min(HISTORY_DURATION_MS, Math.max(6 * intervalMs, 60000));
  const t1 = times.length ? Math.max(...times) : now;
  let t0 = times.length ? Math.min(...times) : t1 - minSpan;
  if (t1 - t0 < minSpan) t0 = t1 - minSpan;
  const yMax = niceMax(all.length ? Math.max(...all.map((p) => p[1])) : 0);
  const x = (t) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b);
  registry.set(id, { series, format, t0, t1, x, y });

  let grid = '';
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const yy = y(v).toFixed(1);
    grid += `<line class="grid" x1="${PAD.l}" x2="${W - PAD.r}" y1="${yy}" y2="${yy}"/>`;
    grid += `<text class="axis" x="${PAD.l - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end">${compact(v)}</text>`;
  }
  const ticks = 4;
  for (let i = 0; i <= ticks; i++) {
    const t = t0 + ((t1 - t0) * i) / ticks;
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    grid += `<text class="axis" x="${x(t).toFixed(1)}" y="${H - 6}" text-anchor="${anchor}">${clock(t)}</text>`;
  }

  let lines = '';
  const gap = 2.5 * intervalMs;
  for (const s of series) {
    let d = '', area = '', prev = null, segStart = null;
    const closeArea = () => {
      if (segStart !== null && prev) area += `L${x(prev[0]).toFixed(1)},${y(0).toFixed(1)}L${x(segStart).toFixed(1)},${y(0).toFixed(1)}Z`;
    };
    for (const p of s.points) {
      if (p[1] === null || p[1] === undefined) { closeArea(); prev = null; segStart = null; continue; }
      const px = x(p[0]).toFixed(1), py = y(p[1]).toFixed(1);
      if (prev && p[0] - prev[0] <= gap) {
        d += `L${px},${py}`;
        area += `L${px},${py}`;
      } else {
        closeArea();
        d += `M${px},${py}`;
        area += `M${px},${y(0).toFixed(1)}L${px},${py}`;
        segStart = p[0];
      }
      prev = p;
    }
    closeArea();
    if (s.fill) lines += `<path class="area" d="${area}" fill="${s.color}"/>`;
    lines += `<path class="line" d="${d}" stroke="${s.color}"/>`;
    // a lone point has no line to show it
    const pts = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
    if (pts.length === 1) lines += `<circle cx="${x(pts[0][0]).toFixed(1)}" cy="${y(pts[0][1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`;
  }

  const legend = series.map((s) => html`<span class="legend-item"><i style="background:${s.color}"></i>${s.label}</span>`);
  const every = duration(intervalMs * 1e6);
  const empty = count === 0
    ? html`<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">${times.length
      ? `Rates need two samples; nsqadmin samples the cluster every ${every}`
      : `No samples yet; nsqadmin samples the cluster every ${every}`}</text>`
    : '';
  const nonzero = all.filter((p) => p[1] > 0).length;
  return html`<figure class="chart-box">
    <figcaption><span class="chart-title">${title}</span>${unit ? html` <span class="muted">${unit}</span>` : ''}<span class="legend">${legend}</span></figcaption>
    <svg class="chart" data-chart="${id}" data-points="${count}" data-nonzero="${nonzero}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}">
      ${raw(grid)}${raw(lines)}${empty}
      <line class="guide" x1="-10" x2="-10" y1="${PAD.t}" y2="${H - PAD.b}"/>
    </svg>
  </figure>`;
}

// installHover shows the values under the pointer for every chart.
export function installHover(tip) {
  document.addEventListener('mousemove', (ev) => {
    const svg = ev.target.closest && ev.target.closest('svg.chart');
    if (!svg) { tip.hidden = true; return; }
    const c = registry.get(svg.dataset.chart);
    if (!c) return;
    const r = svg.getBoundingClientRect();
    const vx = ((ev.clientX - r.left) / r.width) * W;
    const t = c.t0 + ((vx - PAD.l) / (W - PAD.l - PAD.r)) * (c.t1 - c.t0);
    let best = null;
    for (const s of c.series) {
      for (const p of s.points) {
        if (p[1] === null || p[1] === undefined) continue;
        if (!best || Math.abs(p[0] - t) < Math.abs(best - t)) best = p[0];
      }
    }
    const guide = svg.querySelector('.guide');
    if (best === null) { tip.hidden = true; return; }
    const gx = c.x(best).toFixed(1);
    guide.setAttribute('x1', gx);
    guide.setAttribute('x2', gx);
    const rows = c.series.map((s) => {
      const p = s.points.find((q) => q[0] === best);
      const v = p && p[1] !== null && p[1] !== undefined ? c.format(p[1]) : '—';
      return html`<div><i style="background:${s.color}"></i>${s.label}: <b>${v}</b></div>`;
    });
    tip.innerHTML = String(html`<div class="tip-time">${clock(best)}</div>${rows}`);
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + 'px';
    tip.style.top = (ev.clientY + 14) + 'px';
  });
}
