// Graphite graphs, built from the statsd key names nsqd pushes, as NSQ's
// nsqadmin draws them when --graphite-url is set.

import { html } from './html.js';

const INTERVALS = ['off', '1h', '2h', '12h', '24h', '48h', '168h'];
const COLORS = '1f77b4,ff7f0e,2ca02c,d62728,9467bd,8c564b,e377c2';

export const graphEnabled = GRAPH_ENABLED;

export function graphInterval() {
  const v = localStorage.getItem('nsqadmin.graphInterval');
  return INTERVALS.includes(v) ? v : '2h';
}

export function setGraphInterval(v) { localStorage.setItem('nsqadmin.graphInterval', v); }

export function sanitize(name) {
  return String(name).replace(/ /g, '_').replace(/\//g, '-').replace(/[^a-zA-Z0-9\-_.]/g, '');
}

export function prefix(node) {
  const key = node === '*' ? '*' : node.replace(/[.:]/g, '_');
  let p = STATSD_PREFIX.replace(/%s/g, key);
  if (p && !p.endsWith('.')) p += '.';
  return p;
}

const COUNTERS = new Set(['message_count', 'requeue_count', 'timeout_count', 'gc_runs']);
const fmtKey = (metric, key) => (COUNTERS.has(metric) ? STATSD_COUNTER_FORMAT : STATSD_GAUGE_FORMAT).replace(/%s/g, key);

function base() {
  if (GRAPHITE_URL) return GRAPHITE_URL;
  return (BASE_PATH === '/' ? '' : BASE_PATH);
}

// metricTarget is the graphite target of a topic (channel "") or channel metric.
export function metricTarget(node, topic, channel, metric) {
  let key = prefix(node) + 'topic.' + sanitize(topic);
  if (channel) key += '.channel.' + sanitize(channel);
  return `sumSeries(${fmtKey(metric, key + '.' + metric)})`;
}

export function memTarget(node, metric) {
  const t = fmtKey(metric, prefix(node) + 'mem.' + metric);
  return metric === 'gc_runs' ? `movingAverage(${t},45)` : t;
}

export function e2eTargets(node, topic, channel, percentiles) {
  let key = prefix(node) + 'topic.' + sanitize(topic);
  if (channel) key += '.channel.' + sanitize(channel);
  return (percentiles || []).map((p) => {
    const t = `scale(${STATSD_GAUGE_FORMAT.replace(/%s/g, key + '.e2e_processing_latency_' + Math.round(p.quantile * 100))},0.000001)`;
    return node === '*' ? `averageSeries(${t})` : t;
  });
}

export const counterTarget = () => `sumSeries(${STATSD_COUNTER_FORMAT.replace(/%s/g, prefix('*') + 'topic.*.channel.*.message_count')})`;

function renderURL(targets, large, metric) {
  const q = new URLSearchParams();
  q.set('colorList', COLORS);
  q.set('height', large ? '450' : '20');
  q.set('width', large ? '800' : '120');
  q.set('from', '-' + graphInterval());
  q.set('until', '-1min');
  if (!large) {
    for (const [k, v] of [['hideGrid', 'true'], ['hideLegend', 'true'], ['hideAxes', 'true'], ['bgcolor', 'ff000000'], ['margin', '0'], ['yMin', '0'], ['lineMode', 'connected'], ['drawNullAsZero', 'false']]) q.set(k, v);
  }
  for (let t of targets) {
    t = `summarize(${t},"${STATSD_INTERVAL}sec","avg")`;
    if (large && COUNTERS.has(metric)) t = `scale(${t},${(1 / STATSD_INTERVAL).toFixed(6)})`;
    q.append('target', t);
  }
  return base() + '/render?' + q.toString();
}

export function sparkline(target, metric, label) {
  if (!graphEnabled || graphInterval() === 'off') return '';
  return html`<img class="sparkline" width="120" height="20" alt="${label}" title="${label} (Graphite, last ${graphInterval()})" src="${renderURL([target], false, metric)}">`;
}

export function largeGraph(targets, metric, label) {
  if (!graphEnabled || graphInterval() === 'off') return '';
  return html`<figure class="graphite-graph"><figcaption>${label}</figcaption><img loading="lazy" width="800" height="450" alt="${label}" src="${renderURL(targets, true, metric)}"></figure>`;
}

// intervalPicker is the time-range selector shown above Graphite graphs.
export function intervalPicker(ctx) {
  if (!graphEnabled) return '';
  const cur = graphInterval();
  const buttons = INTERVALS.map((v) => {
    const id = ctx.action({ run: () => { setGraphInterval(v); ctx.rerender(); } });
    return html`<button type="button" class="btn btn-small${v === cur ? ' btn-on' : ''}" data-act="${id}">${v}</button>`;
  });
  return html`<div class="graph-interval"><span class="muted">Graphite range:</span> ${buttons}</div>`;
}
