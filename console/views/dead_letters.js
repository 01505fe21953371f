// Dead letters: DLQs with counts, their messages (peeked, never received) filtered by
// destination, error code and time, and rate-capped redrive of a selection or a filter.
import { get, post, query } from '../api.js';
import { h, table, badge, field, pretty, errorBox, isoFromInput } from '../dom.js';

function progress(r) {
  const done = r.redriven + r.skipped;
  const pct = r.total ? Math.round((100 * done) / r.total) : 100;
  const bar = h('div', { class: 'bar' }, h('div', { class: 'fill' }));
  bar.firstChild.style.width = pct + '%';
  return h('div', {}, bar, h('small', {}, `${r.redriven} redriven, ${r.skipped} skipped of ${r.total} (${pct}%)`));
}

export default async function deadLetters(root) {
  const queues = (await get('/dead-letter-queues')).queues;
  let selectedQueue = queues.length ? queues[0].name : '';
  const f = {
    destination: h('input', { name: 'destination', placeholder: 'destination' }),
    error_code: h('input', { name: 'error_code', placeholder: 'error code, e.g. ERROR_FROM_TARGET', size: 30 }),
    since: h('input', { name: 'since', type: 'datetime-local' }),
    until: h('input', { name: 'until', type: 'datetime-local' }),
  };
  const rate = h('input', { name: 'rate', type: 'number', min: 1, max: 10000, value: 5, size: 6 });
  const queueList = h('div');
  const list = h('div');
  const redrives = h('div');
  const msg = h('div');
  let lastCount = null;  // the selected queue's message count at the last refresh

  function filterValues() {
    return { destination: f.destination.value.trim(), error_code: f.error_code.value.trim(),
      since: isoFromInput(f.since.value), until: isoFromInput(f.until.value) };
  }

  function renderQueues(qs) {
    queueList.replaceChildren(table(['Queue', 'Messages', 'In flight', 'Used by'], qs.map((q) => h('tr', {
      class: 'clickable' + (q.name === selectedQueue ? ' selected' : ''),
      onclick: () => { selectedQueue = q.name; renderQueues(qs); loadMessages(); },
    }, h('td', {}, q.name), h('td', { dataset: { testid: 'dlq-visible' } }, String(q.visible ?? '—')), h('td', {}, String(q.inflight ?? '—')),
    h('td', {}, q.used_by.map((u) => `${u.bus}/${u.rule}/${u.target_id}`).join(', '))))));
  }

  async function loadMessages() {
    if (!selectedQueue) { list.replaceChildren(h('p', { class: 'muted' }, 'No queue is used as a dead-letter queue.')); return; }
    try {
      const r = await get(`/dead-letter-queues/${encodeURIComponent(selectedQueue)}/messages` + query({ ...filterValues(), limit: 500 }));
      const rows = r.messages.map((m) => {
        const a = m.attributes;
        const detail = h('tr', { hidden: true }, h('td', { colspan: 8 }, h('pre', { class: 'details' }, pretty({ attributes: a, body: JSON.parse(m.body) }))));
        const row = h('tr', { dataset: { testid: 'dlq-row', messageId: m.message_id } },
          h('td', {}, h('input', { type: 'checkbox', class: 'pick', value: m.message_id })),
          h('td', {}, m.sent), h('td', {}, m.destination || a.TARGET_ARN), h('td', {}, m.rule),
          h('td', {}, badge(a.ERROR_CODE || '', 'error')), h('td', { class: 'clip' }, a.ERROR_MESSAGE || ''),
          h('td', {}, a.RETRY_ATTEMPTS || ''), h('td', {}, h('button', { class: 'link', onclick: () => { detail.hidden = !detail.hidden; } }, 'details')));
        return [row, detail];
      });
      list.replaceChildren(h('p', { dataset: { testid: 'dlq-matched' } }, `${r.matched} matching message(s) in ${selectedQueue}` + (r.matched > r.messages.length ? ` (first ${r.messages.length} shown)` : '')),
        table(['', 'Sent', 'Destination', 'Rule', 'ERROR_CODE', 'ERROR_MESSAGE', 'RETRY_ATTEMPTS', ''], rows, { class: 'log' }));
    } catch (err) { list.replaceChildren(errorBox(err)); }
  }

  async function startRedrive(selection) {
    const body = { queue: selectedQueue, rate: Number(rate.value) };
    if (selection) {
      const ids = [...list.querySelectorAll('input.pick:checked')].map((c) => c.value);
      if (!ids.length) { msg.replaceChildren(errorBox('Select messages first.')); return; }
      body.message_ids = ids;
    } else {
      body.filter = Object.fromEntries(Object.entries(filterValues()).filter(([, v]) => v));
    }
    try {
      const r = await post('/redrives', body);
      msg.replaceChildren(h('p', { class: 'ok' }, `Redrive ${r.id} started: ${r.total} message(s) at ≤ ${r.rate}/s.`));
      await refresh();
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }

  async function refresh() {
    const [qs, rs] = await Promise.all([get('/dead-letter-queues'), get('/redrives')]);
    renderQueues(qs.queues);
    // Messages left or arrived (a redrive is moving them): show the list as it is now.
    const sel = qs.queues.find((x) => x.name === selectedQueue);
    const count = sel ? `${sel.visible}/${sel.inflight}` : null;
    if (lastCount !== null && count !== lastCount) loadMessages();
    lastCount = count;
    redrives.replaceChildren(rs.redrives.length ? table(['Redrive', 'Queue', 'Filter', 'Rate', 'State', 'Progress', ''], rs.redrives.map((r) => h('tr', { dataset: { testid: 'redrive-row' } },
      h('td', { class: 'mono' }, r.id.slice(0, 8)), h('td', {}, r.queue), h('td', { class: 'clip' }, JSON.stringify(r.filter)),
      h('td', {}, `${r.rate}/s`), h('td', { dataset: { testid: 'redrive-state' } }, badge(r.state)), h('td', {}, progress(r)),
      h('td', {}, r.state === 'RUNNING' ? h('button', { class: 'danger', onclick: async () => {
        try { await post(`/redrives/${r.id}/cancel`); await refresh(); } catch (err) { msg.replaceChildren(errorBox(err)); }
      } }, 'Cancel') : '')))) : h('p', { class: 'muted' }, 'No redrives yet.'));
  }

  root.replaceChildren(
    h('h2', {}, 'Dead-letter queues'), queueList,
    h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); loadMessages(); } },
      field('Destination', f.destination), field('Error code', f.error_code), field('Sent since', f.since),
      field('Sent before', f.until), h('button', { type: 'submit' }, 'Filter')),
    list,
    h('div', { class: 'card row' }, field('Max rate (messages per second)', rate),
      h('button', { onclick: () => startRedrive(true) }, 'Redrive selected'),
      h('button', { onclick: () => startRedrive(false) }, 'Redrive all matching the filter'),
      h('button', { class: 'link', onclick: () => list.querySelectorAll('input.pick').forEach((c) => { c.checked = true; }) }, 'Select all shown')),
    msg,
    h('h3', {}, 'Redrives'), redrives);
  await Promise.all([refresh(), loadMessages()]);
  return refresh;
}
