// Number and time formatting for people: thousands separators, rates per
// second, short durations.

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const dec2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function num(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return intFmt.format(n);
}

// rate formats messages per second; null means not known yet.
export function rate(r) {
  if (r === null || r === undefined || Number.isNaN(r)) return '—';
  if (r === 0) return '0/s';
  if (r < 10) return dec2.format(r) + '/s';
  if (r < 1000) return dec1.format(r) + '/s';
  return intFmt.format(r) + '/s';
}

// compact shortens big numbers for chart axes: 1.2k, 3.4M.
export function compact(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return trim(n / 1e9) + 'G';
  if (a >= 1e6) return trim(n / 1e6) + 'M';
  if (a >= 1e4) return trim(n / 1e3) + 'k';
  if (a >= 100 || Number.isInteger(n)) return intFmt.format(n);
  return dec1.format(n);
}

function trim(x) {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1).replace(/\.0$/, '');
}

// duration formats nanoseconds as e.g. "3d 4h", "5m 12s", "850ms".
export function duration(ns) {
  if (ns === null || ns === undefined) return '—';
  const ms = ns / 1e6;
  if (ms < 1) return (ns / 1e3).toFixed(1) + 'µs';
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + 'ms';
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

// latency formats an e2e value given in nanoseconds.
export function latency(ns) {
  if (!ns) return '0';
  return duration(ns);
}

export function clock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString('en-GB', { hour12: false });
}

export function plural(n, one, many) {
  return `${num(n)} ${n === 1 ? one : (many || one + 's')}`;
}
