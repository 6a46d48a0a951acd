// One database's backups: sizes over time, rows, durations, and "back up now".
import {call, paths} from './api.js';
import {h, svg, table} from './dom.js';
import * as fmt from './format.js';

export const every = 5000;

export function title({cluster, database}) {
  return `${cluster} / ${database}`;
}

export async function load({cluster, database}) {
  return {cluster, database, backups: await call(paths.backups(cluster, database))};
}

const at = iso => h('time', {datetime: iso || null, title: iso || null}, fmt.time(iso));

/** Bars of the last backups' sizes, oldest on the left; each bar's title tells its backup. */
function chart(backups) {
  const shown = backups.slice(0, 40).reverse();
  if (shown.length === 0) return null;
  const W = 640;
  const H = 120;
  const max = Math.max(...shown.map(b => b.bytes), 1);
  const slot = W / Math.max(shown.length, 10);
  const bar = Math.max(2, slot * 0.7);
  const desc = `Sizes of the last ${shown.length} backups, oldest first; largest ${fmt.bytes(max)}`;
  return h('figure', {class: 'chart'},
    // Stretched to the page's width: no text inside, where it would be stretched too.
    svg('svg', {viewBox: `0 0 ${W} ${H + 1}`, role: 'img', 'aria-label': desc, preserveAspectRatio: 'none'},
      svg('line', {x1: 0, y1: H + 0.5, x2: W, y2: H + 0.5, class: 'axis'}),
      shown.map((b, i) => {
        const hgt = Math.max(1, (b.bytes / max) * (H - 4));
        return svg('rect', {x: i * slot + (slot - bar) / 2, y: H - hgt, width: bar, height: hgt, rx: 1.5,
          class: b.finishedAt ? 'bar' : 'bar partial'},
        svg('title', null, `${b.backupId}: ${fmt.bytes(b.bytes)}, ${fmt.count(b.rows)} rows`));
      }),
    ),
    h('div', {class: 'ticks', 'aria-hidden': 'true'}, h('span', null, fmt.time(shown[0].startedAt)),
      shown.length > 1 ? h('span', null, fmt.time(shown[shown.length - 1].startedAt)) : null),
    h('figcaption', null, desc));
}

export function render({cluster, database, backups}, {onBackupNow, flash}) {
  const total = backups.reduce((s, b) => s + b.bytes, 0);
  const last = backups[0];
  const rows = backups.map(b => h('tr', {dataset: {backup: b.backupId}},
    h('th', {scope: 'row'}, h('code', null, b.backupId)),
    h('td', null, at(b.startedAt)),
    h('td', {class: 'num'}, fmt.between(b.startedAt, b.finishedAt)),
    h('td', {class: 'num'}, fmt.count(b.tables)),
    h('td', {class: 'num'}, fmt.count(b.rows)),
    h('td', {class: 'num'}, fmt.bytes(b.bytes)),
    h('td', null, [b.encrypted ? 'encrypted' : 'plain', b.archiveFormat ? `, archive ${b.archiveFormat}` : ''])));
  const button = h('button', {type: 'button', class: 'primary', onclick: e => onBackupNow(e.currentTarget)},
    'Back up now');
  return [
    h('p', {class: 'crumbs'}, h('a', {href: '#/fleet'}, '← Fleet')),
    h('div', {class: 'head-row'},
      h('h2', {id: 'h-history'}, 'Backups of ', h('span', {class: 'cluster-prefix'}, `${cluster} / `), database),
      h('div', {class: 'actions'}, button, h('span', {id: 'backup-now-result', role: 'status'}, flash || null))),
    h('dl', {class: 'facts'},
      h('div', null, h('dt', null, 'Backups'), h('dd', null, backups.length)),
      h('div', null, h('dt', null, 'Last'), h('dd', null, last ? at(last.finishedAt || last.startedAt) : 'never')),
      h('div', null, h('dt', null, 'Last size'), h('dd', null, last ? fmt.bytes(last.bytes) : '—')),
      h('div', null, h('dt', null, 'All kept'), h('dd', null, fmt.bytes(total)))),
    chart(backups),
    table({caption: `Backups of ${cluster}/${database} in the repository, newest first`, hideCaption: true,
      className: 'history', rows, empty: 'No backup of this database in the repository.',
      columns: [{label: 'Backup'}, {label: 'Started'}, {label: 'Duration', num: true}, {label: 'Tables', num: true},
        {label: 'Rows', num: true}, {label: 'Size', num: true}, {label: 'Format'}]}),
  ];
}
