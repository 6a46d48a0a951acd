// The /api/v1 client: the bearer token lives in sessionStorage (this tab only) and goes in the Authorization header,
// never in a URL.

const KEY = 'pgfleet.apiToken';

export class Unauthorized extends Error {}

export const token = {
  get: () => sessionStorage.getItem(KEY) || '',
  set: t => (t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY)),
};

/**
 * Takes a token from the fragment (#token=...) for scripted use, keeps it, and removes it from the address bar and
 * the history so it is not left on screen or in a bookmark.
 */
export function adoptTokenFromFragment() {
  const m = /(?:^#|[#&])token=([^&]*)/.exec(location.hash);
  if (!m) return;
  token.set(decodeURIComponent(m[1]));
  const rest = location.hash.replace(/(^#|&)token=[^&]*/, '$1').replace(/^#&/, '#');
  history.replaceState(null, '', location.pathname + (rest === '#' ? '#/fleet' : rest));
}

const enc = encodeURIComponent;

export const paths = {
  clusters: () => '/api/v1/clusters',
  databases: c => `/api/v1/clusters/${enc(c)}/databases`,
  backups: (c, d) => `/api/v1/clusters/${enc(c)}/databases/${enc(d)}/backups`,
  runs: limit => `/api/v1/runs?limit=${limit}`,
  alerts: () => '/api/v1/alerts',
};

export async function call(path, method = 'GET') {
  const t = token.get();
  if (!t) throw new Unauthorized('Enter the API token (coordinator.apiToken) to see the fleet.');
  let r;
  try {
    r = await fetch(path, {method, headers: {Authorization: `Bearer ${t}`, Accept: 'application/json'},
      cache: 'no-store', credentials: 'omit'});
  } catch (e) {
    throw new Error(`The coordinator did not answer (${e.message}); retrying.`);
  }
  const body = await r.json().catch(() => null);
  if (r.status === 401) throw new Unauthorized('The coordinator refused this token; enter the right one.');
  if (!r.ok) throw new Error((body && body.error) || `${method} ${path}: HTTP ${r.status}`);
  return body;
}
