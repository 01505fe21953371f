// Overview: resources and states; per destination the live start rate against its limit.
import { get } from '../api.js';
import { h, table, badge } from '../dom.js';
import { rateChart } from '../chart.js';

// Average starts per second over the newest `n` complete seconds.
export function recentRate(starts, n = 5) {
  const s = starts.slice(-n);
  return s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
}

function counts(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('span', { class: 'muted' }, '—');
  return entries.map(([k, v]) => h('span', { class: 'pill' }, `${k}: ${v}`));
}

// Percentile pills of one latency summary ({p50_ms, p90_ms, p99_ms, count}); `keys` picks which.
function latency(l, keys = ['p50', 'p90', 'p99']) {
  const f = (v) => (v === null || v === undefined ? '—' : `${v} ms`);
  l = l || { count: 0 };
  return [...keys.map((k) => h('span', { class: 'pill', dataset: { testid: k } }, `${k} ${f(l[k + '_ms'])}`)),
    h('span', { class: 'muted' }, ` (${l.count} samples)`)];
}

function destinationCard(d, connections) {
  const conn = connections.find((c) => c.Name === d.ConnectionName) || {};
  const limit = d.limit_per_second.length ? d.limit_per_second[d.limit_per_second.length - 1]
    : d.InvocationRateLimitPerSecond;
  const rate = recentRate(d.starts_per_second);
  const canvas = h('canvas', { class: 'chart', width: 520, height: 120, 'aria-label': `starts per second of ${d.Name}` });
  const card = h('article', { class: 'card dest', dataset: { destination: d.Name } },
    h('div', { class: 'card-head' },
      h('h3', {}, h('a', { href: '#/destination/' + encodeURIComponent(d.Name) }, d.Name)),
      badge(d.ApiDestinationState || 'UNKNOWN'), badge(conn.ConnectionState || '?')),
    h('p', { class: 'big' },
      h('span', { class: 'rate', dataset: { testid: 'rate' } }, rate.toFixed(1)), ' / ',
      h('span', { class: 'limit', dataset: { testid: 'limit' } }, String(limit)), h('small', {}, ' starts per second (5 s average) vs limit')),
    canvas,
    h('dl', {},
      h('dt', {}, 'Backlog'), h('dd', {}, counts(d.backlog)),
      h('dt', {}, 'In flight'), h('dd', {}, String(d.inflight)),
      h('dt', {}, 'Attempts'), h('dd', {}, counts(d.attempts)),
      h('dt', {}, 'Failures'), h('dd', {}, counts(d.failures)),
      h('dt', {}, 'Attempt duration'),
      h('dd', { dataset: { testid: 'attempt-latency' } }, latency((d.latency || {}).attempt)),
      h('dt', {}, 'Ingestion to first attempt'),
      h('dd', { dataset: { testid: 'first-attempt-latency' } },
        latency((d.latency || {}).ingestion_to_invocation, ['p50', 'p99'])),
      h('dt', {}, 'Endpoint'), h('dd', {}, `${d.HttpMethod} ${d.InvocationEndpoint}`)));
  requestAnimationFrame(() => rateChart(canvas, d.starts_per_second, d.limit_per_second));
  return card;
}

export default async function overview(root) {
  async function render() {
    const o = await get('/overview');
    const inv = o.invocations || {};
    root.replaceChildren(
      h('section', { class: 'summary' },
        h('div', { class: 'card' }, h('h4', {}, 'Deliveries finished'), counts(inv)),
        h('div', { class: 'card' }, h('h4', {}, 'Attempt duration (all destinations)'), latency(o.latency.attempt)),
        h('div', { class: 'card' }, h('h4', {}, 'Ingestion to first attempt (all destinations)'), latency(o.latency.ingestion_to_invocation))),
      h('h2', {}, 'API destinations'),
      o.destinations.length ? h('section', { class: 'grid' }, o.destinations.map((d) => destinationCard(d, o.connections)))
        : h('p', { class: 'muted' }, 'No API destinations yet.'),
      h('h2', {}, 'Event buses and rules'),
      table(['Bus', 'Rule', 'State', 'Pattern', 'Targets'], o.rules.map((r) => h('tr', {},
        h('td', {}, r.EventBusName), h('td', {}, r.Name), h('td', {}, badge(r.State)),
        h('td', {}, h('code', { class: 'clip' }, r.EventPattern || '')),
        h('td', {}, (r.Targets || []).map((t) => h('div', {},
          t.Kind === 'api-destination' ? h('a', { href: '#/destination/' + encodeURIComponent(t.Resource) }, t.Resource) : t.Resource,
          h('span', { class: 'muted' }, ` (${t.Kind}${t.DeadLetterArn ? ', DLQ ' + t.DeadLetterArn.split(':').pop() : ''})`))))))),
      o.buses.length ? h('p', { class: 'muted' }, `${o.buses.length} bus(es): ` + o.buses.map((b) => `${b.Name} (${b.RuleCount} rules)`).join(', ')) : null,
      h('h2', {}, 'Connections'),
      table(['Name', 'Authorization', 'State', 'Reason'], o.connections.map((c) => h('tr', {},
        h('td', {}, c.Name), h('td', {}, c.AuthorizationType), h('td', {}, badge(c.ConnectionState)),
        h('td', {}, c.StateReason || '')))),
      h('h2', {}, 'Dead-letter queues'),
      table(['Queue', 'Messages', 'In flight', 'Used by'], o.dead_letter_queues.map((q) => h('tr', {},
        h('td', {}, h('a', { href: '#/dead-letters' }, q.name)), h('td', { dataset: { testid: 'dlq-count' } }, String(q.visible ?? '—')),
        h('td', {}, String(q.inflight ?? '—')), h('td', {}, q.used_by.map((u) => `${u.bus}/${u.rule}/${u.target_id}`).join(', '))))));
  }
  await render();
  return render;
}
