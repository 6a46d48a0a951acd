// The dashboard's shell: the token, the views behind #/fleet, #/db/<cluster>/<database>, #/runs and #/alerts, and a
// refresh loop per view (never two requests of one view in flight: the next starts after the last one answered).
import {adoptTokenFromFragment, call, paths, token, Unauthorized} from './api.js';
import * as fleet from './fleet.js';
import * as backups from './history.js';
import * as runs from './runs.js';
import * as alerts from './alerts.js';
import {time} from './format.js';

const main = document.getElementById('main');
const notice = document.getElementById('notice');
const refreshed = document.getElementById('refreshed');
const form = document.getElementById('token-form');
const input = document.getElementById('token');

let generation = 0;
let timer = null;
let flash = null;

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case 'db':
      if (parts.length === 3) return {name: 'fleet', view: backups, args: {cluster: parts[1], database: parts[2]}};
      break;
    case 'runs': return {name: 'runs', view: runs, args: {}};
    case 'alerts': return {name: 'alerts', view: alerts, args: {}};
    default:
  }
  return {name: 'fleet', view: fleet, args: {}};
}

function say(message, kind = 'error') {
  notice.hidden = !message;
  notice.textContent = message || '';
  notice.className = `notice ${kind}`;
}

async function backupNow(button) {
  const {args} = route();
  button.disabled = true;
  try {
    const run = await call(paths.backups(args.cluster, args.database), 'POST');
    flash = `Queued as run ${run.runId} (${run.state.toLowerCase()}); follow it under Runs.`;
  } catch (e) {
    flash = `Not queued: ${e.message}`;
  }
  show(false);
}

async function refresh(gen) {
  const {view, args} = route();
  try {
    const data = await view.load(args);
    if (gen !== generation) return;
    const scrollY = window.scrollY;
    const open = [...main.querySelectorAll('details')].map(d => d.open);
    main.replaceChildren(...[view.render(data, {onBackupNow: backupNow, flash})].flat(Infinity).filter(Boolean));
    // A refresh must not undo what the reader opened or closed, nor move the page under them.
    main.querySelectorAll('details').forEach((d, i) => {
      if (i < open.length) d.open = open[i];
    });
    window.scrollTo(0, scrollY);
    main.dataset.loaded = 'true';
    say(null);
    refreshed.textContent = `Updated ${time(new Date().toISOString())}`;
  } catch (e) {
    if (gen !== generation) return;
    say(e.message);
    if (e instanceof Unauthorized) {
      form.classList.add('wanted');
      input.focus();
      return; // nothing to poll for until a token is entered
    }
  }
  if (gen === generation) timer = setTimeout(() => refresh(gen), view.every);
}

function show(newView = true) {
  clearTimeout(timer);
  const gen = ++generation;
  const {name, view, args} = route();
  if (newView) {
    flash = null;
    main.dataset.loaded = 'false';
    main.dataset.view = view === backups ? 'history' : name;
    document.title = `${typeof view.title === 'function' ? view.title(args) : view.title} · pgfleet`;
    document.querySelectorAll('[data-nav]').forEach(a => {
      if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
  }
  refresh(gen);
}

form.addEventListener('submit', e => {
  e.preventDefault();
  token.set(input.value.trim());
  input.value = '';
  form.classList.remove('wanted');
  show();
});
document.getElementById('token-forget').addEventListener('click', () => {
  token.set('');
  show();
});
window.addEventListener('hashchange', () => {
  adoptTokenFromFragment();
  show();
  main.focus({preventScroll: true});
});

adoptTokenFromFragment();
if (!location.hash) history.replaceState(null, '', '#/fleet');
show();
