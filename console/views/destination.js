// Destination: settings (limit and bridgeport:* settings), connection state with deauthorize /
// re-authorize, and the delivery log with filters and each attempt's recorded details.
import { get, post, put, query } from '../api.js';
import { h, table, badge, field, pretty, errorBox, isoFromInput } from '../dom.js';
import { rateChart } from '../chart.js';
import { recentRate } from './overview.js';

const SETTINGS = [
  ['timeout-ms', 'Timeout (ms), 100–300000'], ['max-inflight', 'Max in flight'],
  ['backoff-base-ms', 'Backoff base (ms)'], ['backoff-cap-ms', 'Backoff cap (ms)'],
  ['backoff-multiplier', 'Backoff multiplier'], ['retryable-statuses', 'Retryable statuses'],
  ['retry-network-errors', 'Retry network errors (transient|all)'],
  ['retry-after-max-seconds', 'Retry-After cap (s)'], ['throttle-expiry', 'Throttle expiry (never|age)'],
  ['rate-burst', 'Rate burst'], ['circuit-breaker', 'Circuit breaker'],
  ['adaptive-rate', 'Adaptive rate (off|on)'], ['delivery-headers', 'Delivery headers (true|false)'],
];

function settingsForm(d, name, onDone) {
  const msg = h('p', { class: 'muted' });
  const limit = h('input', { type: 'number', min: 1, max: 100000, value: d.InvocationRateLimitPerSecond, name: 'limit' });
  const inputs = SETTINGS.map(([key]) => h('input', { name: key, value: (d.settings || {})[key] || '', placeholder: 'default' }));
  const form = h('form', { class: 'settings', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      if (Number(limit.value) !== d.InvocationRateLimitPerSecond) {
        await post(`/api-destinations/${encodeURIComponent(name)}/rate-limit`, { limit: Number(limit.value) });
      }
      const changed = {};
      inputs.forEach((inp) => {
        if (inp.value.trim() && inp.value.trim() !== ((d.settings || {})[inp.name] || '')) changed[inp.name] = inp.value.trim();
      });
      if (Object.keys(changed).length) await put(`/api-destinations/${encodeURIComponent(name)}/settings`, changed);
      msg.textContent = 'Saved.';
      msg.className = 'ok';
      onDone();
    } catch (err) { msg.replaceWith(errorBox(err)); }
  } },
  field('Rate limit per second', limit),
  SETTINGS.map(([key, label], i) => field(label, inputs[i])),
  h('div', {}, h('button', { type: 'submit' }, 'Save settings'), msg));
  return form;
}

function authFields(type) {
  if (type === 'BASIC') return [['Username', 'text'], ['Password', 'password']];
  if (type === 'API_KEY') return [['ApiKeyName', 'text'], ['ApiKeyValue', 'password']];
  return [['ClientID', 'text'], ['ClientSecret', 'password']];
}

function connectionPanel(conn, onDone) {
  if (!conn) return h('p', { class: 'muted' }, 'No connection.');
  const msg = h('p');
  const type = conn.AuthorizationType;
  const inputs = authFields(type).map(([n, t]) => h('input', { name: n, type: t, autocomplete: 'off', required: true }));
  const reauth = h('form', { class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    const v = Object.fromEntries(inputs.map((i) => [i.name, i.value]));
    let auth;
    if (type === 'BASIC') auth = { BasicAuthParameters: { Username: v.Username, Password: v.Password } };
    else if (type === 'API_KEY') auth = { ApiKeyAuthParameters: { ApiKeyName: v.ApiKeyName, ApiKeyValue: v.ApiKeyValue } };
    else auth = { OAuthParameters: { ClientParameters: { ClientID: v.ClientID, ClientSecret: v.ClientSecret } } };
    try {
      await post(`/connections/${encodeURIComponent(conn.Name)}/authorize`, { AuthParameters: auth });
      inputs.forEach((i) => { i.value = ''; });
      onDone();
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  } }, inputs.map((i) => field(i.name, i)), h('button', { type: 'submit' }, 'Re-authorize'));
  const deauth = h('button', { class: 'danger', onclick: async () => {
    if (!confirm(`Deauthorize ${conn.Name}? Its secrets are erased and deliveries park until it is re-authorized.`)) return;
    try { await post(`/connections/${encodeURIComponent(conn.Name)}/deauthorize`); onDone(); } catch (err) { msg.replaceChildren(errorBox(err)); }
  } }, 'Deauthorize');
  // DescribeConnection shows parameter keys; secret values are never returned by the server.
  return h('div', {},
    h('p', {}, `${conn.Name} · ${type} · `, badge(conn.ConnectionState), ' ', conn.StateReason || ''),
    h('details', {}, h('summary', {}, 'Parameters (secrets are never shown)'), h('pre', {}, pretty(conn.AuthParameters || {}))),
    h('div', { class: 'row' }, deauth), h('h4', {}, 'Re-authorize with new credentials'), reauth, msg);
}

function attemptDetails(r) {
  const shown = { method: r.method, url: r.url, headers: r.headers, status: r.status,
    duration_ms: r.duration_ms, transport_error: r.transport_error, response_body: r.response_body,
    error_code: r.error_code, error: r.error, next_due: r.next_due, delivery_id: r.delivery_id, target_id: r.target_id };
  return h('pre', { class: 'details' }, pretty(shown));
}

export function deliveryRows(records) {
  return records.map((r) => {
    const row = h('tr', { class: 'clickable', dataset: { testid: 'delivery-row' } },
      h('td', {}, r.start), h('td', {}, h('a', { href: '#/event/' + encodeURIComponent(r.event_id) }, r.event_id)),
      h('td', {}, r.rule), h('td', {}, r.lane), h('td', {}, String(r.attempt)), h('td', {}, String(r.status ?? r.transport_error ?? '')),
      h('td', {}, badge(r.outcome)), h('td', {}, r.error_code || ''), h('td', {}, r.duration_ms === undefined ? '' : `${r.duration_ms} ms`));
    const detail = h('tr', { hidden: true }, h('td', { colspan: 9 }, attemptDetails(r)));
    row.addEventListener('click', (ev) => { if (ev.target.tagName !== 'A') detail.hidden = !detail.hidden; });
    return [row, detail];
  });
}

function deliveryLog(name) {
  const f = {
    rule: h('input', { name: 'rule', placeholder: 'rule' }),
    outcome: h('select', { name: 'outcome' }, ['', 'success', 'retry', 'failed'].map((o) => h('option', { value: o }, o || 'any outcome'))),
    status: h('input', { name: 'status', placeholder: 'status, e.g. 500', size: 8 }),
    event_id: h('input', { name: 'event_id', placeholder: 'event id' }),
    since: h('input', { name: 'since', type: 'datetime-local' }),
    until: h('input', { name: 'until', type: 'datetime-local' }),
    limit: h('select', { name: 'limit' }, [50, 200, 1000].map((n) => h('option', { value: n }, `newest ${n}`))),
  };
  const out = h('div');
  async function load() {
    const q = { destination: name, rule: f.rule.value, outcome: f.outcome.value, event_id: f.event_id.value,
      since: isoFromInput(f.since.value), until: isoFromInput(f.until.value), limit: f.limit.value };
    try {
      let recs = (await get('/deliveries' + query(q))).deliveries;
      if (f.status.value.trim()) recs = recs.filter((r) => String(r.status) === f.status.value.trim());
      out.replaceChildren(h('p', { class: 'muted' }, `${recs.length} attempt record(s), newest first`),
        table(['Start', 'Event', 'Rule', 'Lane', '#', 'Status', 'Outcome', 'Error', 'Duration'], deliveryRows(recs), { class: 'log' }));
    } catch (err) { out.replaceChildren(errorBox(err)); }
  }
  const form = h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); load(); } },
    field('Rule', f.rule), field('Outcome', f.outcome), field('Status', f.status), field('Event id', f.event_id),
    field('Since', f.since), field('Until', f.until), field('Show', f.limit), h('button', { type: 'submit' }, 'Filter'));
  load();
  return h('div', {}, form, out);
}

export default async function destination(root, name) {
  const head = h('div');
  const settings = h('div');
  const connection = h('div');
  const canvas = h('canvas', { class: 'chart wide', width: 900, height: 160 });
  async function refresh(full) {
    const d = await get('/api-destinations/' + encodeURIComponent(name));
    const limit = d.limit_per_second.length ? d.limit_per_second.at(-1) : d.InvocationRateLimitPerSecond;
    head.replaceChildren(h('h2', {}, d.Name, ' ', badge(d.ApiDestinationState || '?')),
      h('p', {}, `${d.HttpMethod} ${d.InvocationEndpoint} · `, h('b', { dataset: { testid: 'rate' } }, recentRate(d.starts_per_second).toFixed(1)),
        ` / ${limit} starts per second · backlog ready ${d.backlog.ready}, scheduled ${d.backlog.scheduled}, parked ${d.backlog.parked} · in flight ${d.inflight}`));
    rateChart(canvas, d.starts_per_second, d.limit_per_second, { seconds: 300 });
    if (full) {
      settings.replaceChildren(settingsForm(d, name, () => refresh(true)));
      connection.replaceChildren(connectionPanel(d.connection, () => refresh(true)));
    }
  }
  await refresh(true);
  root.replaceChildren(head, canvas,
    h('section', { class: 'two' },
      h('div', { class: 'card' }, h('h3', {}, 'Settings'), settings),
      h('div', { class: 'card' }, h('h3', {}, 'Connection'), connection)),
    h('h3', {}, 'Delivery log'), deliveryLog(name));
  return () => refresh(false);
}
