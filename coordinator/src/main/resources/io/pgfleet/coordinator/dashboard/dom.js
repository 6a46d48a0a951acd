// Building DOM nodes from data without innerHTML: every value from the API is text, never markup.

/** h('td', {class: 'num', dataset: {col: 'size'}}, 'text', node, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A table with a caption (visually hidden when asked) and column headers with scope. */
export function table({caption, hideCaption = false, columns, rows, empty, className}) {
  const t = h('table', {class: className},
    caption ? h('caption', {class: hideCaption ? 'sr-only' : null}, caption) : null,
    h('thead', null, h('tr', null, columns.map(c =>
      h('th', {scope: 'col', class: c.num ? 'num' : c.className}, c.label)))),
    h('tbody', null, rows.length ? rows : h('tr', {class: 'empty'},
      h('td', {colspan: columns.length}, empty || 'Nothing yet.'))));
  return h('div', {class: 'table-wrap'}, t);
}
