// Pattern tester: an event and a pattern, TestEventPattern's result, and which of a bus's rules
// would match the event.
import { get, post } from '../api.js';
import { h, field, errorBox, badge } from '../dom.js';

// crypto.randomUUID needs a secure context; a console opened over plain http on a non-loopback
// address is not one, so build the v4 UUID from getRandomValues.
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const envelope = (source, detailType, detail) => ({
  version: '0', id: uuid(), 'detail-type': detailType, source, account: '000000000000',
  time: now(), region: 'us-east-1', resources: [], detail,
});

const EXAMPLES = {
  'Order placed': [envelope('shop.orders', 'OrderPlaced', { orderId: 'o-1001', total: 129.5, currency: 'EUR', items: [{ sku: 'A-1', qty: 2 }] }),
    { source: ['shop.orders'], 'detail-type': ['OrderPlaced'], detail: { total: [{ numeric: ['>', 100] }] } }],
  'S3 object created': [envelope('aws.s3', 'Object Created', { bucket: { name: 'photos' }, object: { key: 'cats/tom.png', size: 2048 } }),
    { source: ['aws.s3'], detail: { object: { key: [{ suffix: '.png' }] } } }],
  'EC2 state change': [envelope('aws.ec2', 'EC2 Instance State-change Notification', { 'instance-id': 'i-0abc', state: 'stopped' }),
    { source: ['aws.ec2'], detail: { state: [{ 'anything-but': 'running' }] } }],
  'Login from a network': [envelope('auth.service', 'Login', { user: 'ada', ip: '10.0.0.7', mfa: false }),
    { detail: { ip: [{ cidr: '10.0.0.0/24' }], mfa: [false] } }],
};

export default async function pattern(root) {
  const overview = await get('/overview');
  const ev = h('textarea', { name: 'event', rows: 16, spellcheck: 'false' });
  const pat = h('textarea', { name: 'pattern', rows: 16, spellcheck: 'false' });
  const bus = h('select', { name: 'bus' }, overview.buses.map((b) => h('option', { value: b.Name }, `${b.Name} (${b.RuleCount} rules)`)));
  const example = h('select', { name: 'example', onchange: () => load(example.value) },
    Object.keys(EXAMPLES).map((k) => h('option', { value: k }, k)));
  const out = h('div', { class: 'result', dataset: { testid: 'pattern-result' } });
  function load(name) {
    const [e, p] = EXAMPLES[name];
    ev.value = JSON.stringify({ ...e, id: uuid(), time: now() }, null, 2);
    pat.value = JSON.stringify(p, null, 2);
  }
  async function test() {
    try {
      const r = await post('/test-pattern', { event: ev.value, pattern: pat.value, bus: bus.value });
      const parts = [];
      if (r.event_error) parts.push(errorBox(r.event_error));
      if (r.pattern_error) parts.push(errorBox(r.pattern_error));
      if (r.result !== undefined) {
        parts.push(h('p', { class: 'big' }, 'TestEventPattern: ', badge(r.result ? 'MATCH' : 'NO MATCH', r.result ? 'match' : 'nomatch')));
      }
      if (r.matching_rules) {
        parts.push(h('h4', {}, `Rules on ${r.bus} that match this event: ${r.matching_rules.length} of ${r.rules_on_bus}`),
          h('ul', { dataset: { testid: 'matching-rules' } }, r.matching_rules.map((m) => h('li', {}, m.name, m.enabled ? '' : ' (disabled)', h('span', { class: 'muted' }, ` · ${m.targets} target(s)`)))));
      }
      out.replaceChildren(...parts);
    } catch (err) { out.replaceChildren(errorBox(err)); }
  }
  load(Object.keys(EXAMPLES)[0]);
  root.replaceChildren(h('h2', {}, 'Pattern tester'),
    h('div', { class: 'row' }, field('Example', example), field('Bus', bus), h('button', { onclick: test, dataset: { testid: 'test-pattern' } }, 'Test')),
    h('section', { class: 'two' }, field('Event', ev), field('Event pattern', pat)), out);
  return null;
}
