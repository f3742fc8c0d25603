// SLA policies as an editable table. The API replaces the whole set at once
// (PUT /sla/policies), so the table is sent back entire with the edited numbers;
// interactions enqueued afterwards get the new deadlines, waiting ones keep theirs.

import { describe } from '/static/common/api.js';
import { h, table } from '/static/common/dom.js';

const FIELDS = [
  ['threshold', 'answer within (s)', 1],
  ['target', 'target (0–1)', 0.01],
  ['near_breach', 'near breach (0–1)', 0.01],
  ['max_wait', 'max wait (s)', 1],
];

export function slaEditor(policies, { api, canEdit, say }, done) {
  const inputs = policies.map((p, i) => Object.fromEntries(FIELDS.map(([key, label, step]) => [key,
    h('input', { type: 'number', step, min: 0, size: 7, value: p[key] ?? '', disabled: !canEdit,
      'aria-label': `${label} for ${p.team} ${p.channel}${p.sla_class ? ` ${p.sla_class}` : ''} (policy ${i + 1})` })])));
  const message = h('p', { role: 'status' });

  async function save(event) {
    event.preventDefault();
    const body = policies.map((p, i) => {
      const edited = { ...p };
      for (const [key] of FIELDS) {
        const raw = inputs[i][key].value;
        edited[key] = raw === '' ? null : Number(raw);
      }
      return edited;
    });
    try {
      await api.put('/sla/policies', body);
      say('SLA policies saved.');
      done('SLA policies saved; new interactions use them.');
    } catch (err) {
      message.textContent = `Not saved: ${describe(err)}`;
      message.className = 'error-text';
    }
  }

  const rows = policies.map((p, i) => h('tr', {},
    h('th', { scope: 'row' }, p.team), h('td', {}, p.channel),
    h('td', {}, p.sla_class || 'default',
      p.public === null || p.public === undefined ? '' : (p.public ? ' · public' : ' · private')),
    FIELDS.map(([key]) => h('td', {}, inputs[i][key])),
    h('td', {}, p.max_wait_action + (p.overflow_queue ? ` → ${p.overflow_queue}` : ''))));
  return h('form', { id: 'sla-form', onsubmit: save },
    table(['team', 'channel', 'class', ...FIELDS.map(([, label]) => label), 'after max wait'],
      rows, 'SLA policies'),
    h('p', {}, h('button', { type: 'submit', disabled: !canEdit }, 'Save SLA policies')),
    message);
}
