// nsqadmin's single-page UI: a router over the HTML5 history, a refresh loop
// with a visible pause switch, warning/error banners, the confirmation dialog
// for destructive actions and toasts. Pages live in page-*.js; each exports
// {title, nav, load(params), render(data, params, ctx)}.

import { html } from './html.js';
import { api, ApiError } from './api.js';
import { installHover } from './chart.js';
import { clock } from './fmt.js';
import { pageTopics } from './page-topics.js';
import { pageTopic } from './page-topic.js';
import { pageChannel } from './page-channel.js';
import { pageNodes, pageNode } from './page-nodes.js';
import { pageCounter } from './page-counter.js';
import { pageLookup } from './page-lookup.js';
import { link } from './links.js';

const REFRESH_MS = Math.min(5000, Math.max(1000, HISTORY_INTERVAL_MS));
const main = document.getElementById('main');
const banner = document.getElementById('banner');
const updated = document.getElementById('updated');
const toggle = document.getElementById('refresh-toggle');
const dialog = document.getElementById('confirm');

const state = {
  page: null,
  params: null,
  actions: new Map(),
  data: null,
  timer: null,
  loading: false,
  seq: 0,
  paused: localStorage.getItem('nsqadmin.paused') === '1',
};

function route(pathname) {
  let p = pathname;
  const bp = BASE_PATH === '/' ? '' : BASE_PATH;
  if (bp && p.startsWith(bp)) p = p.slice(bp.length);
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'topics')) return [pageTopics, {}];
  if (parts[0] === 'topics' && parts.length === 2) return [pageTopic, { topic: parts[1] }];
  if (parts[0] === 'topics' && parts.length === 3) return [pageChannel, { topic: parts[1], channel: parts[2] }];
  if (parts[0] === 'nodes' && parts.length === 1) return [pageNodes, {}];
  if (parts[0] === 'nodes' && parts.length === 2) return [pageNode, { node: parts[1] }];
  if (parts[0] === 'counter' && parts.length === 1) return [pageCounter, {}];
  if (parts[0] === 'lookup' && parts.length === 1) return [pageLookup, {}];
  return [null, {}];
}

function showBanner(msg, kind) {
  if (!msg) { banner.hidden = true; banner.textContent = ''; return; }
  banner.className = 'banner banner-' + kind;
  banner.textContent = msg;
  banner.hidden = false;
}

export function toast(msg, kind = 'ok') {
  const el = document.createElement('div');
  el.className = 'toast toast-' + kind;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  el.textContent = msg;
  document.getElementById('toasts').appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 12000 : 5000);
}

// ctx is handed to render: it registers the actions that buttons trigger
// and lets a page redraw itself from the data it has (sorting, ranges).
function makeCtx() {
  const actions = new Map();
  let n = 0;
  return {
    actions,
    action(spec) {
      const id = 'a' + (++n);
      actions.set(id, spec);
      return id;
    },
    rerender: () => show(state.data),
  };
}

// show renders data into the page.
function show(data) {
  const ctx = makeCtx();
  const content = state.page.render(data, state.params, ctx);
  state.data = data;
  state.actions = ctx.actions;
  swap(content);
  if (state.page.after) state.page.after(data, state.params);
}

// swap replaces the page's HTML, keeping the focused input and its caret
// and the open <details> so that a refresh does not disturb the reader.
function swap(content) {
  const active = document.activeElement;
  const focusId = active && active.id && main.contains(active) ? active.id : null;
  const sel = focusId && 'selectionStart' in active ? [active.selectionStart, active.selectionEnd] : null;
  const open = new Set([...main.querySelectorAll('details[open][id]')].map((d) => d.id));
  const values = new Map([...main.querySelectorAll('input[id], select[id], textarea[id]')].map((el) => [el.id, [el.value, el.checked]]));
  main.innerHTML = String(content);
  for (const [id, [v, checked]] of values) {
    const el = document.getElementById(id);
    if (!el || !main.contains(el)) continue;
    if (el.type === 'checkbox') el.checked = checked;
    else el.value = v;
  }
  for (const id of open) {
    const d = document.getElementById(id);
    if (d) d.open = true;
  }
  if (focusId) {
    const el = document.getElementById(focusId);
    if (el) {
      el.focus();
      if (sel && el.setSelectionRange) el.setSelectionRange(sel[0], sel[1]);
    }
  }
}

// load fetches and shows the page. An automatic refresh that finishes
// after the user paused is dropped, so a paused page stays as it was;
// initial loads and forced ones (after an action) always show.
async function load(initial, force) {
  const page = state.page;
  const params = state.params;
  const seq = ++state.seq;
  const stale = () => seq !== state.seq || (!initial && !force && state.paused);
  state.loading = true;
  try {
    const data = await page.load(params);
    if (stale()) return;
    show(data);
    showBanner(data && data.message ? data.message : '', 'warn');
    updated.textContent = 'updated ' + clock(Date.now());
  } catch (e) {
    if (stale()) return;
    const msg = e instanceof ApiError ? e.message : String(e && e.stack || e);
    if (!(e instanceof ApiError)) console.warn('nsqadmin page error', e);
    showBanner('', 'warn');
    const explain = (page.explain ? await page.explain(e, params) : null) || explainUpstream(msg);
    if (stale()) return;
    if (initial || !main.querySelector('[data-page]') || explain) {
      swap(html`<section data-page="error" class="error-page">
        <h1>${page.title(params)}</h1>
        <div class="error-box" role="alert">
          ${explain ? html`<p class="error-what">${explain}</p>` : ''}
          <p>${explain ? 'nsqadmin said: ' : ''}<code>${msg}</code></p>
          <p class="muted">The page retries every ${REFRESH_MS / 1000}s${state.paused ? ' when auto-refresh is on' : ''}.</p>
        </div>
      </section>`);
    } else {
      showBanner('Refresh failed, showing older data: ' + msg, 'error');
    }
    updated.textContent = 'failed ' + clock(Date.now());
  } finally {
    if (seq === state.seq) state.loading = false;
  }
}

// explainUpstream says in words what an UPSTREAM_ERROR means.
function explainUpstream(msg) {
  if (msg.startsWith('UPSTREAM_ERROR: failed to query any nsqlookupd')) {
    return 'No nsqlookupd gave a usable answer, so nsqadmin cannot see the cluster. Check that nsqlookupd is up at ' + NSQLOOKUPD.join(', ') + '.';
  }
  if (msg.startsWith('UPSTREAM_ERROR: failed to query any nsqd')) {
    return 'No nsqd gave a usable answer.';
  }
  if (msg.startsWith('UPSTREAM_ERROR')) return 'nsqadmin could not get an answer from the cluster.';
  return null;
}

function schedule() {
  clearTimeout(state.timer);
  const every = (state.page && state.page.refreshMs) || REFRESH_MS;
  state.timer = setTimeout(async () => {
    if (!state.paused && !dialog.open && !state.loading && state.page) await load(false);
    schedule();
  }, every);
}

function navigate(path, push = true) {
  if (push) history.pushState({}, '', path);
  const [page, params] = route(location.pathname);
  if (state.page && state.page.leave) state.page.leave();
  state.page = page || notFoundPage;
  state.params = params;
  document.title = state.page.title(params) + ' · nsqadmin';
  for (const a of document.querySelectorAll('.mainnav a')) {
    a.classList.toggle('active', a.dataset.route === state.page.nav);
  }
  showBanner('', 'warn');
  main.innerHTML = '<p class="loading">Loading…</p>';
  window.scrollTo(0, 0);
  load(true);
  schedule();
}

export function go(path) { navigate(path); }

export function refreshNow() { if (state.page) load(false, true); }

const notFoundPage = {
  title: () => 'Not found',
  nav: '',
  async load() { return {}; },
  render: () => html`<section data-page="notfound"><h1>Not found</h1>
    <div class="error-box" role="alert"><p>There is no nsqadmin page at <code>${location.pathname}</code>.</p>
    <p><a href="${link()}" data-nav>Go to the topic list</a></p></div></section>`,
};

function setPaused(p) {
  state.paused = p;
  localStorage.setItem('nsqadmin.paused', p ? '1' : '0');
  toggle.textContent = p ? 'Resume auto-refresh' : 'Pause auto-refresh';
  toggle.setAttribute('aria-pressed', p ? 'true' : 'false');
  toggle.classList.toggle('btn-paused', p);
  document.body.classList.toggle('refresh-paused', p);
  if (!p) refreshNow();
}

// confirm opens the dialog and resolves true when the user confirms.
function confirmDialog({ title, body, ok }) {
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-body').innerHTML = String(body);
  document.getElementById('confirm-ok').textContent = ok;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    // the close event is queued: one from an earlier confirmation can
    // arrive after this one opened, and must not answer it
    const onClose = () => {
      if (dialog.open) return;
      dialog.removeEventListener('close', onClose);
      resolve(dialog.returnValue === 'ok');
    };
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

async function runAction(spec, btn) {
  if (spec.confirm && !(await confirmDialog(spec.confirm))) return;
  btn.disabled = true;
  try {
    const data = await api(spec.method, spec.path, spec.body);
    if (data.message) toast(spec.done + ' with warnings: ' + data.message, 'warn');
    else toast(spec.done);
    if (spec.then) spec.then();
    else refreshNow();
  } catch (e) {
    toast(spec.failed + ': ' + e.message, 'error');
    btn.disabled = false;
  }
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-nav]');
  if (a && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey && ev.button === 0) {
    ev.preventDefault();
    navigate(a.getAttribute('href'));
    return;
  }
  const btn = ev.target.closest('button[data-act]');
  if (btn) {
    const spec = state.actions.get(btn.dataset.act);
    if (spec) {
      ev.preventDefault();
      if (spec.run) spec.run(btn);
      else runAction(spec, btn);
    }
  }
});

document.addEventListener('submit', (ev) => {
  const form = ev.target.closest('form[data-act]');
  if (!form) return;
  ev.preventDefault();
  const spec = state.actions.get(form.dataset.act);
  if (spec && spec.submit) spec.submit(form);
});

window.addEventListener('popstate', () => navigate(location.pathname + location.search, false));
toggle.addEventListener('click', () => setPaused(!state.paused));

for (const a of document.querySelectorAll('.mainnav a')) {
  a.setAttribute('href', link(a.dataset.route));
}
document.getElementById('cluster-mode').textContent = NSQLOOKUPD.length
  ? `${NSQLOOKUPD.length} nsqlookupd`
  : `${NSQD.length} nsqd (no lookupd)`;
installHover(document.getElementById('chart-tip'));
setPaused(state.paused);
navigate(location.pathname + location.search, false);

export { runAction, confirmDialog as confirmAction };
