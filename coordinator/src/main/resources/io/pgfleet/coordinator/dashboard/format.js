// Formatting of sizes, counts, instants and durations for people.

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  let v = Number(n);
  let u = 0;
  while (Math.abs(v) >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return (u === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + UNITS[u];
}

export function count(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
}

export function rate(bytesPerSecond) {
  return bytesPerSecond > 0 ? bytes(bytesPerSecond) + '/s' : '—';
}

const pad = n => String(n).padStart(2, '0');

/** Local time as 2025-01-31 02:00:00; the UTC instant goes into the title of the element that shows it. */
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 45 s, 12 min, 3 h 5 min, 2 d 4 h */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${pad(s % 60)} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${pad(m % 60)} min`;
  return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}

export function age(iso, now = Date.now()) {
  if (!iso) return '—';
  return duration(now - Date.parse(iso)) + ' ago';
}

export function between(startIso, endIso) {
  if (!startIso || !endIso) return '—';
  return duration(Date.parse(endIso) - Date.parse(startIso));
}

export function percent(fraction) {
  return `${Math.round((fraction || 0) * 100)} %`;
}
