// One interaction on the desktop: an offer (accept / reject, countdown to the offer
// timeout) or work in hand (wrap up, complete with a disposition), with the details
// the API gives: channel, customer (and its profile), text, the rule that routed it, the thread on other
// channels (follow-ups) and its history.

import { h } from '/static/common/dom.js';
import { clock, secs } from '/static/common/format.js';
import { serverNow } from './clock.js';

const DISPOSITIONS = ['resolved', 'follow_up_needed', 'escalated', 'callback_scheduled',
  'no_answer', 'wrong_queue'];

function details(view) {
  const rows = [
    ['Channel', view.channel], ['Customer', view.customer_id || 'unknown'],
    ['From', view.address || '—'], ['Subject', view.subject || '—'],
    ['Queue', `${view.queue} (${view.team}), priority ${view.priority}`],
    ['Routed by', view.rule ? `rule “${view.rule}” v${view.rule_version}` : '—'],
    ['Skills', Object.entries(view.plan.skills).map(([s, p]) => `${s} ≥ ${p}`).join(', ') || '—'],
    ['Waited', secs(Math.max(0, serverNow() - view.enqueued_at))],
  ];
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

const MONEY = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

// The customer profile the API embeds for the agent holding the interaction.
function customer(view) {
  const c = view.customer;
  if (!c) return null;
  const others = c.open_channels.filter((ch) => ch !== view.channel);
  const rows = [
    ['Name', c.name || c.id], ['Tier', c.tier], ['Lifetime value', MONEY.format(c.lifetime_value)],
    ['Language', c.language], ['Segment', c.segment], ['Account owner', c.account_owner || '—'],
    ['Last agent', c.last_agent || '—'],
    ['Open elsewhere', others.length ? `${c.open_interactions} (${others.join(', ')})` : 'none'],
  ];
  return h('section', { class: 'customer', 'aria-label': 'Customer profile',
    'data-tier': c.tier, 'data-known': String(c.known) },
  h('h4', {}, 'Customer', ' ', h('span', { class: `badge tier tier-${c.tier}` }, c.tier),
    c.known ? null : h('span', { class: 'muted' }, ' not in the directory')),
  h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k),
    h('dd', { 'data-field': k.toLowerCase().replaceAll(' ', '-') }, v)])));
}

function thread(view) {
  const items = view.follow_ups.map((f) => h('li', {},
    h('time', {}, clock(f.at)), ` ${f.channel}: ${f.summary || '(no text)'}`));
  return items.length
    ? h('div', {}, h('h4', {}, 'Thread on other channels'), h('ul', { class: 'thread' }, items))
    : null;
}

function history(view) {
  return h('details', {}, h('summary', {}, `History (${view.history.length})`),
    h('ol', { class: 'history' }, view.history.map((e) => h('li', {},
      h('time', {}, clock(e.at)), ` ${e.event}`, e.agent_id ? ` · ${e.agent_id}` : '',
      e.queue ? ` · ${e.queue}` : '', e.reason ? ` · ${e.reason}` : ''))));
}

function offerActions(item, act) {
  const timer = h('span', { class: 'countdown', role: 'timer', 'aria-live': 'off',
    'data-expires': item.expiresAt ?? '' });
  return h('div', { class: 'row actions' },
    h('button', { type: 'button', class: 'accept', onclick: () => act('accept', item) }, 'Accept'),
    h('button', { type: 'button', class: 'secondary reject', onclick: () => act('reject', item) }, 'Reject'),
    timer);
}

function workActions(item, act) {
  const id = `disposition-${item.view.id}`;
  const select = h('select', { id, class: 'disposition' },
    DISPOSITIONS.map((d) => h('option', { value: d }, d.replaceAll('_', ' '))));
  return h('div', { class: 'row actions' },
    item.view.status === 'assigned'
      ? h('button', { type: 'button', class: 'secondary wrap-up', onclick: () => act('wrap-up', item) }, 'Wrap up')
      : h('span', { class: 'badge status-warn' }, 'wrap-up'),
    h('label', { for: id }, 'Disposition', select),
    h('button', { type: 'button', class: 'complete',
      onclick: () => act('complete', item, { disposition: select.value }) }, 'Complete'),
    h('button', { type: 'button', class: 'secondary complete-next',
      title: 'Complete, then reserve your next-best interaction',
      onclick: () => act('complete-and-next', item, { disposition: select.value }) },
      'Complete & next'));
}

export function renderCard(item, act) {
  const { view } = item;
  const offered = view.status === 'reserved';
  const title = offered ? `Offer: ${view.channel}` : `${view.channel} · ${view.status.replace('_', ' ')}`;
  return h('article', { class: `panel card ${offered ? 'offer' : 'work'}`, 'data-id': view.id,
    'data-status': view.status, 'aria-labelledby': `title-${view.id}` },
    h('h3', { id: `title-${view.id}` }, title, ' ', h('span', { class: 'muted' }, view.id)),
    view.summary ? h('blockquote', { class: 'message' }, view.summary) : null,
    details(view), customer(view), thread(view), history(view),
    offered ? offerActions(item, act) : workActions(item, act),
    h('p', { class: 'error-text card-error', role: 'alert' }));
}

// Refresh every visible countdown; an offer past its deadline can no longer be accepted.
export function tickCountdowns(root) {
  for (const timer of root.querySelectorAll('.countdown[data-expires]')) {
    const expires = Number(timer.dataset.expires);
    if (!expires) continue;
    const left = Math.max(0, Math.ceil(expires - serverNow()));
    timer.textContent = left ? `${left} s to answer` : 'offer timed out';
    timer.classList.toggle('urgent', left <= 5);
    const accept = timer.closest('.actions').querySelector('.accept');
    if (accept) accept.disabled = left === 0;
  }
}
