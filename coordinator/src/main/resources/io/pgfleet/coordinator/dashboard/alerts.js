// Alerts: the notifications the leading coordinator sent to its webhooks, newest first.
import {call, paths} from './api.js';
import {h, table} from './dom.js';
import * as fmt from './format.js';

export const title = 'Alerts';
export const every = 5000;

export async function load() {
  return {alerts: await call(paths.alerts())};
}

export function render({alerts}) {
  const rows = alerts.map(a => h('tr', {dataset: {status: a.status === 'firing' ? 'fail' : 'ok', alert: a.alertId}},
    h('td', null, h('time', {datetime: a.at, title: a.at}, fmt.time(a.at))),
    h('td', null, h('span', {class: `badge ${a.status === 'firing' ? 'fail' : 'ok'}`},
      h('span', {class: 'dot', 'aria-hidden': 'true'}), a.status)),
    h('td', null, a.kind.replaceAll('_', ' ')),
    h('th', {scope: 'row'}, `${a.cluster}/${a.database}`),
    h('td', null, a.summary)));
  return [
    h('section', {'aria-labelledby': 'h-alerts'},
      h('h2', {id: 'h-alerts'}, 'Recent alerts ', h('span', {class: 'count'}, alerts.length)),
      table({caption: 'Alert notifications sent by this coordinator, newest first', hideCaption: true, rows,
        empty: 'No alert sent: nothing has fired since this coordinator took the lead, alerting is off (no webhook'
          + ' configured), or this coordinator is a standby.',
        columns: [{label: 'Sent at'}, {label: 'Status'}, {label: 'Kind'}, {label: 'Database'}, {label: 'Summary'}]})),
  ];
}
