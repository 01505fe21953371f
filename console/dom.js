// Tiny DOM helpers. Text always goes in through textContent, never as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function table(headers, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows));
}

export function badge(text, kind) {
  return h('span', { class: 'badge ' + (kind || String(text).toLowerCase()) }, text);
}

export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function pretty(v) {
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
}

export function field(label, input) {
  return h('label', {}, label, input);
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, String(err && err.message ? err.message : err));
}

// Local datetime input value -> ISO-8601 (UTC) or ''.
export function isoFromInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d) ? '' : d.toISOString().replace(/\.\d+Z$/, 'Z');
}
