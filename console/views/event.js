// Event: an event's deliveries across targets, from the attempt records.
import { get } from '../api.js';
import { h, table, errorBox } from '../dom.js';
import { deliveryRows } from './destination.js';

export default async function eventView(root, id) {
  const input = h('input', { name: 'event_id', placeholder: 'event id', size: 40, value: id || '' });
  const out = h('div');
  root.replaceChildren(h('h2', {}, 'Event'),
    h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); location.hash = '#/event/' + encodeURIComponent(input.value.trim()); } },
      input, h('button', { type: 'submit' }, 'Look up')), out);
  if (!id) return null;
  try {
    const recs = (await get('/events/' + encodeURIComponent(id))).deliveries;
    const byDelivery = new Map();
    recs.forEach((r) => byDelivery.set(r.delivery_id, [...(byDelivery.get(r.delivery_id) || []), r]));
    out.replaceChildren(h('p', { dataset: { testid: 'event-summary' } }, `${recs.length} attempt(s) in ${byDelivery.size} deliver${byDelivery.size === 1 ? 'y' : 'ies'}`),
      [...byDelivery.entries()].map(([did, rs]) => h('section', { class: 'card' },
        h('h4', {}, `${rs[0].lane} · rule ${rs[0].rule} · target ${rs[0].target_id}`), h('p', { class: 'muted mono' }, 'delivery ' + did),
        table(['Start', 'Event', 'Rule', 'Lane', '#', 'Status', 'Outcome', 'Error', 'Duration'], deliveryRows(rs), { class: 'log' }))));
  } catch (err) {
    out.replaceChildren(err.status === 404 ? h('p', { class: 'muted' }, 'No attempt records for that event id (records are kept 7 days).') : errorBox(err));
  }
  return null;
}
