// Runs: live progress of what runs and waits, recent failures with their reasons, recent completions.
import {call, paths} from './api.js';
import {h, table} from './dom.js';
import * as fmt from './format.js';
import {historyLink} from './fleet.js';

export const title = 'Runs';
export const every = 1000;

export async function load() {
  return {runs: await call(paths.runs(200))};
}

const at = iso => h('time', {datetime: iso || null, title: iso || null}, fmt.time(iso));
const eta = s => (s === null || s === undefined ? '—' : fmt.duration(s * 1000));
const who = r => [h('span', {class: 'cluster-prefix'}, `${r.cluster} / `), historyLink(r.cluster, r.database)];

function live(r) {
  const p = r.progress;
  const label = `${r.cluster}/${r.database}`;
  const tasks = r.tasks.map(t => h('tr', {dataset: {status: t.status}},
    h('th', {scope: 'row'}, t.table || t.kind.toLowerCase().replaceAll('_', ' ')),
    h('td', null, t.chunk || '—'),
    h('td', null, h('span', {class: `state ${t.status.toLowerCase()}`}, t.status.toLowerCase()),
      t.attempt > 1 ? ` (attempt ${t.attempt})` : ''),
    h('td', {class: 'num'}, fmt.count(t.rows)),
    h('td', {class: 'num'}, fmt.bytes(t.rawBytes)),
    h('td', {class: 'num'}, fmt.bytes(t.storedBytes)),
    h('td', {class: 'num'}, fmt.rate(t.bytesPerSecond)),
    h('td', {class: 'num'}, eta(t.etaSeconds))));
  return h('article', {class: 'run', dataset: {run: r.runId, state: r.state}, 'aria-label': `Run of ${label}`},
    h('header', null,
      h('h3', null, who(r)),
      h('span', {class: `state ${r.state.toLowerCase()}`}, r.state.toLowerCase()),
      h('span', {class: 'muted'}, `run ${r.runId}`, r.attempt > 1 ? `, attempt ${r.attempt}` : '',
        r.trigger ? `, ${r.trigger}` : '')),
    p ? [
      h('div', {class: 'bar-row'},
        h('progress', {max: 1, value: p.fraction, 'aria-label': `Progress of ${label}`}),
        h('span', {class: 'num'}, fmt.percent(p.fraction))),
      h('dl', {class: 'facts'},
        h('div', null, h('dt', null, 'Tasks'), h('dd', null, `${p.tasksDone} / ${p.tasksTotal}`,
          p.tasksRunning ? h('span', {class: 'muted'}, ` (${p.tasksRunning} running)`) : '')),
        h('div', null, h('dt', null, 'Rows'), h('dd', null, fmt.count(p.rows))),
        h('div', null, h('dt', null, 'Read'), h('dd', null, fmt.bytes(p.rawBytes))),
        h('div', null, h('dt', null, 'Stored'), h('dd', null, fmt.bytes(p.storedBytes))),
        h('div', null, h('dt', null, 'Rate'), h('dd', null, fmt.rate(p.bytesPerSecond))),
        h('div', null, h('dt', null, 'ETA'), h('dd', null, eta(p.etaSeconds))),
        h('div', null, h('dt', null, 'Started'), h('dd', null, at(r.startedAt)))),
      tasks.length ? h('details', {open: tasks.length <= 12},
        h('summary', null, `${tasks.length} tasks`),
        table({caption: `Tasks of run ${r.runId}`, hideCaption: true, className: 'tasks', rows: tasks,
          columns: [{label: 'Table'}, {label: 'Chunk'}, {label: 'Status'}, {label: 'Rows', num: true},
            {label: 'Read', num: true}, {label: 'Stored', num: true}, {label: 'Rate', num: true},
            {label: 'ETA', num: true}]})) : null,
    ] : h('p', {class: 'muted'}, `Queued since ${fmt.time(r.queuedAt)}`, r.reason ? `: ${r.reason}` : ''));
}

export function render({runs}) {
  const active = runs.filter(r => r.state === 'RUNNING' || r.state === 'QUEUED');
  const failed = runs.filter(r => r.state === 'FAILED');
  const done = runs.filter(r => r.state === 'COMPLETED').slice(0, 20);
  return [
    h('section', {'aria-labelledby': 'h-active'},
      h('h2', {id: 'h-active'}, 'Running and queued ', h('span', {class: 'count'}, active.length)),
      active.length ? active.map(live) : h('p', {class: 'muted'}, 'Nothing is running or waiting.')),
    h('section', {'aria-labelledby': 'h-failed'},
      h('h2', {id: 'h-failed'}, 'Recent failures ', h('span', {class: 'count'}, failed.length)),
      table({caption: 'Failed runs, newest first', hideCaption: true, className: 'failures',
        empty: 'No failed run among the recent ones.',
        rows: failed.map(r => h('tr', {dataset: {status: 'fail', database: `${r.cluster}/${r.database}`}},
          h('td', null, at(r.endedAt || r.queuedAt)),
          h('th', {scope: 'row'}, who(r)),
          h('td', null, h('code', null, r.runId), r.attempt > 1 ? ` (attempt ${r.attempt})` : ''),
          h('td', {class: 'reason'}, r.reason || 'no reason recorded'))),
        columns: [{label: 'Failed at'}, {label: 'Database'}, {label: 'Run'}, {label: 'Reason'}]})),
    h('section', {'aria-labelledby': 'h-done'},
      h('h2', {id: 'h-done'}, 'Recently completed'),
      table({caption: 'Completed runs, newest first', hideCaption: true, empty: 'No completed run yet.',
        rows: done.map(r => h('tr', {dataset: {status: 'ok', database: `${r.cluster}/${r.database}`}},
          h('td', null, at(r.endedAt)),
          h('th', {scope: 'row'}, who(r)),
          h('td', {class: 'num'}, fmt.between(r.startedAt, r.endedAt)),
          h('td', {class: 'num'}, r.progress ? fmt.count(r.progress.rows) : '—'),
          h('td', {class: 'num'}, r.progress ? fmt.bytes(r.progress.storedBytes) : '—'),
          h('td', null, r.backupId ? h('code', null, r.backupId) : '—'))),
        columns: [{label: 'Completed at'}, {label: 'Database'}, {label: 'Duration', num: true},
          {label: 'Rows', num: true}, {label: 'Stored', num: true}, {label: 'Backup'}]})),
  ];
}
