// A database's status colour, from what the API says of it and of its cluster.
//   fail (red):   its last run FAILED, or its cluster's last discovery failed
//   ok (green):   its last run completed and its last backup is younger than the schedule's interval, and a restore
//                 test has passed
//   warn (amber): otherwise (a backup too old, never backed up, never restore-tested, or a run in flight with no
//                 recent backup)

/** Without a schedule (backups on demand only) a backup counts as recent for this long. */
const UNSCHEDULED_MS = 24 * 3600 * 1000;
/** A wave takes time: a backup counts as recent until the interval plus this much has passed. */
const GRACE_MS = 3600 * 1000;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The values one cron field allows, as a Set; null when the field is not understood. */
function field(text, min, max, names) {
  const out = new Set();
  for (let part of text.toUpperCase().split(',')) {
    let step = 1;
    const slash = part.indexOf('/');
    if (slash >= 0) {
      step = Number(part.slice(slash + 1));
      part = part.slice(0, slash);
    }
    const value = v => {
      const i = names ? names.indexOf(v) : -1;
      return i >= 0 ? i + min : Number(v);
    };
    let lo;
    let hi;
    if (part === '*' || part === '?') {
      lo = min;
      hi = max;
    } else if (part.includes('-')) {
      [lo, hi] = part.split('-').map(value);
    } else {
      lo = value(part);
      hi = slash >= 0 ? max : lo;
    }
    if (![lo, hi, step].every(Number.isInteger) || step < 1) return null;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/**
 * The longest gap between two consecutive waves of a 5-field Unix cron expression over the next eight days,
 * evaluated in UTC (a DST change moves a wave by an hour, which the grace covers); null when not understood.
 */
export function scheduleInterval(cron, now = Date.now()) {
  if (!cron) return null;
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) return null;
  const minute = field(f[0], 0, 59);
  const hour = field(f[1], 0, 23);
  const dom = field(f[2], 1, 31);
  const month = field(f[3], 1, 12, MONTHS);
  const dow = field(f[4], 0, 7, DAYS);
  if (!minute || !hour || !dom || !month || !dow) return null;
  if (dow.has(7)) dow.add(0);
  const domAny = f[2] === '*' || f[2] === '?';
  const dowAny = f[4] === '*' || f[4] === '?';
  let previous = null;
  let longest = 0;
  const start = Math.floor(now / 60000) * 60000;
  for (let t = start; t < start + 8 * 24 * 3600 * 1000; t += 60000) {
    const d = new Date(t);
    if (!minute.has(d.getUTCMinutes()) || !hour.has(d.getUTCHours()) || !month.has(d.getUTCMonth() + 1)) continue;
    const byDom = dom.has(d.getUTCDate());
    const byDow = dow.has(d.getUTCDay());
    // Unix cron: when both day fields are restricted, either one matching is enough.
    const dayOk = domAny && dowAny ? true : domAny ? byDow : dowAny ? byDom : byDom || byDow;
    if (!dayOk) continue;
    if (previous !== null) longest = Math.max(longest, t - previous);
    previous = t;
  }
  return longest > 0 ? longest : null;
}

/** {status: 'ok'|'warn'|'fail', reason: '...'} for one database of a cluster. */
export function classify(db, cluster, now = Date.now()) {
  if (cluster && cluster.discoveryError) {
    return {status: 'fail', reason: `discovery of ${cluster.name} failed: ${cluster.discoveryError}`};
  }
  const run = db.lastRun;
  if (run && run.state === 'FAILED') {
    return {status: 'fail', reason: 'last run failed' + (run.reason ? `: ${run.reason}` : '')};
  }
  const backup = db.lastBackup;
  if (!backup || !backup.finishedAt) {
    return {status: 'warn', reason: run ? `no backup yet (run ${run.state.toLowerCase()})` : 'never backed up'};
  }
  const interval = cluster && cluster.schedule ? scheduleInterval(cluster.schedule, now) : null;
  const allowed = (interval || UNSCHEDULED_MS) + GRACE_MS;
  const old = now - Date.parse(backup.finishedAt) > allowed;
  if (old) {
    return {status: 'warn', reason: interval ? 'last backup is older than the schedule\'s interval'
      : 'last backup is older than a day (no schedule)'};
  }
  if (!db.lastRestoreTestAt) {
    return {status: 'warn', reason: 'never restore-tested'};
  }
  if (run && run.state !== 'COMPLETED') {
    return {status: 'ok', reason: `backed up recently; a run is ${run.state.toLowerCase()}`};
  }
  return {status: 'ok', reason: 'last run completed, backed up within the interval, restore-tested'};
}

export const LABELS = {ok: 'OK', warn: 'Attention', fail: 'Failed'};
