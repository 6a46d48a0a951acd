// Fleet at a glance: every cluster, every database with its last backup, last run, last restore test and status.
import {call, paths} from './api.js';
import {h, table} from './dom.js';
import * as fmt from './format.js';
import {classify, LABELS} from './status.js';

export const title = 'Fleet';
export const every = 5000;

export async function load() {
  const clusters = await call(paths.clusters());
  const lists = await Promise.all(clusters.map(c => call(paths.databases(c.name)).then(
    dbs => ({dbs}), e => ({error: e.message}))));
  return {clusters, lists};
}

export function badge(status, reason) {
  return h('span', {class: `badge ${status}`, title: reason},
    h('span', {class: 'dot', 'aria-hidden': 'true'}), LABELS[status]);
}

const at = iso => h('time', {datetime: iso || null, title: iso || null}, fmt.time(iso));

export function historyLink(cluster, db) {
  return h('a', {href: `#/db/${encodeURIComponent(cluster)}/${encodeURIComponent(db)}`}, db);
}

export function render({clusters, lists}) {
  const now = Date.now();
  const rows = [];
  const totals = {ok: 0, warn: 0, fail: 0};
  clusters.forEach((c, i) => {
    const {dbs, error} = lists[i];
    if (error) {
      rows.push(h('tr', {dataset: {status: 'fail', cluster: c.name}},
        h('td', null, badge('fail', error)), h('th', {scope: 'row'}, c.name),
        h('td', {colspan: 6, class: 'reason'}, `databases unavailable: ${error}`)));
      totals.fail++;
      return;
    }
    for (const db of dbs) {
      const {status, reason} = classify(db, c, now);
      totals[status]++;
      const b = db.lastBackup;
      const run = db.lastRun;
      rows.push(h('tr', {dataset: {status, database: `${c.name}/${db.name}`}},
        h('td', {dataset: {col: 'status', label: 'Status'}}, badge(status, reason)),
        h('th', {scope: 'row', dataset: {col: 'database'}},
          h('span', {class: 'cluster-prefix'}, `${c.name} / `), historyLink(c.name, db.name)),
        h('td', {dataset: {col: 'lastBackup', label: 'Last backup'}},
          b ? at(b.finishedAt || b.startedAt) : h('span', {class: 'muted'}, 'never')),
        h('td', {class: 'nowrap', dataset: {col: 'age', label: 'Age'}}, b ? fmt.age(b.finishedAt || b.startedAt, now) : '—'),
        h('td', {class: 'num', dataset: {col: 'size', label: 'Size'}}, b ? fmt.bytes(b.bytes) : '—'),
        h('td', {dataset: {col: 'lastRun', label: 'Last run'}}, run
          ? [h('span', {class: `state ${run.state.toLowerCase()}`}, run.state.toLowerCase()), ' ', at(run.at)]
          : h('span', {class: 'muted'}, 'none')),
        h('td', {dataset: {col: 'restoreTest', label: 'Last restore test'}},
          db.lastRestoreTestAt ? at(db.lastRestoreTestAt) : h('span', {class: 'muted'}, 'never')),
        h('td', {class: 'reason', dataset: {col: 'why', label: 'Why'}}, reason)));
    }
  });

  const clusterRows = clusters.map(c => {
    const status = c.discoveryError ? 'fail' : 'ok';
    return h('tr', {dataset: {status, cluster: c.name}},
      h('th', {scope: 'row'}, c.name),
      h('td', null, `${c.host}:${c.port}`),
      h('td', null, c.schedule ? h('code', null, c.schedule) : h('span', {class: 'muted'}, 'on demand'),
        c.timeZone ? h('span', {class: 'muted'}, ` ${c.timeZone}`) : null),
      h('td', null, c.nextWaveAt ? at(c.nextWaveAt) : '—'),
      h('td', {class: 'num'}, `${c.runsInFlight} / ${c.maxRuns}`),
      h('td', {class: 'num'}, `${c.tasksInFlight} / ${c.maxTasks}`),
      h('td', {class: 'num'}, c.databases),
      h('td', null, c.discoveryError ? [badge('fail', c.discoveryError), h('div', {class: 'reason'}, c.discoveryError)]
        : c.lastDiscoveryAt ? at(c.lastDiscoveryAt) : h('span', {class: 'muted'}, 'not yet')));
  });

  return [
    h('div', {class: 'summary', role: 'group', 'aria-label': 'Databases by status'},
      ['ok', 'warn', 'fail'].map(s => h('div', {class: `tile ${s}`},
        h('span', {class: 'n'}, totals[s]), h('span', null, LABELS[s])))),
    h('section', {'aria-labelledby': 'h-databases'},
      h('h2', {id: 'h-databases'}, 'Databases'),
      table({caption: 'Every database of every cluster, with its last backup, last run and last restore test',
        hideCaption: true, className: 'fleet', rows,
        empty: 'No database discovered yet: the first wave, or a back up now, lists them.',
        columns: [{label: 'Status'}, {label: 'Database'}, {label: 'Last backup'}, {label: 'Age'},
          {label: 'Size', num: true}, {label: 'Last run'}, {label: 'Last restore test'},
          {label: 'Why', className: 'why'}]})),
    h('section', {'aria-labelledby': 'h-clusters'},
      h('h2', {id: 'h-clusters'}, 'Clusters'),
      table({caption: 'Configured clusters', hideCaption: true, rows: clusterRows, empty: 'No cluster is configured.',
        columns: [{label: 'Cluster'}, {label: 'Server'}, {label: 'Schedule'}, {label: 'Next wave'},
          {label: 'Runs', num: true}, {label: 'Tasks', num: true}, {label: 'Databases', num: true},
          {label: 'Last discovery'}]})),
  ];
}
