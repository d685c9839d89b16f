// Calls to nsqadmin's /api, the way NSQ's UI makes them: V1 Accept header,
// X-UserAgent, JSON bodies and a 20 s timeout, so a request never hangs a
// page.

const TIMEOUT_MS = 20000;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function apiURL(path) {
  const base = BASE_PATH === '/' ? '' : BASE_PATH;
  return base + '/api' + path;
}

export async function api(method, path, body) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  const opts = {
    method,
    headers: {
      'Accept': 'application/vnd.nsq; version=1.0',
      'X-UserAgent': USER_AGENT,
    },
    signal: ctrl.signal,
  };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(apiURL(path), opts);
  } catch (e) {
    clearTimeout(timer);
    if (e.name === 'AbortError') throw new ApiError(0, `nsqadmin did not answer ${path} within ${TIMEOUT_MS / 1000}s`);
    throw new ApiError(0, `cannot reach nsqadmin (${e.message})`);
  }
  let text;
  try {
    text = await resp.text();
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new ApiError(resp.status, `nsqadmin sent something that is not JSON (HTTP ${resp.status})`);
    }
  }
  if (!resp.ok) {
    throw new ApiError(resp.status, (data && data.message) || `HTTP ${resp.status}`);
  }
  return data || {};
}

export const get = (path) => api('GET', path);

export function enc(s) { return encodeURIComponent(s); }
