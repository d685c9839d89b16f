// URLs of the UI's pages under BASE_PATH.

export function link(...parts) {
  const base = BASE_PATH === '/' ? '' : BASE_PATH;
  const path = parts.filter((p) => p !== undefined && p !== '').map(encodeURIComponent).join('/');
  return base + '/' + path;
}

export const topicLink = (t) => link('topics', t);
export const channelLink = (t, c) => link('topics', t, c);
export const nodeLink = (n) => link('nodes', n);
