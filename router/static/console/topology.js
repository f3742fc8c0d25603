// Teams, queues, agents and SLA policies. The API serves them read-only (the core has
// no safe live edit of skills or capacity yet); what a supervisor can change from here
// is an agent's presence, which is how staffing gets fixed during the day.

import { describe } from '/static/common/api.js';
import { h, replace, table } from '/static/common/dom.js';
import { pct, secs } from '/static/common/format.js';

const PRESENCES = ['available', 'not_ready', 'offline'];

function kv(map) {
  return Object.entries(map).map(([k, v]) => `${k} ${v}`).join(', ') || '—';
}

function presenceControl(agent, { api, canEdit, say }, refresh) {
  const select = h('select', { 'aria-label': `Presence for ${agent.id}`, disabled: !canEdit },
    PRESENCES.map((p) => h('option', { value: p, selected: p === agent.presence }, p)));
  const reason = h('input', { 'aria-label': `Reason for ${agent.id}`, size: 10,
    placeholder: 'reason', disabled: !canEdit });
  const set = async () => {
    try {
      await api.put(`/agents/${encodeURIComponent(agent.id)}/presence`,
        { presence: select.value, reason: reason.value || null });
      say(`${agent.id} set ${select.value}.`);
      refresh();
    } catch (err) {
      say(`Could not set ${agent.id}: ${describe(err)}`);
    }
  };
  return h('span', { class: 'row' }, select, reason,
    h('button', { type: 'button', class: 'secondary small', disabled: !canEdit, onclick: set }, 'Set'));
}

export function startTopology(panel, ctx) {
  const { api } = ctx;
  const body = h('div', {});
  replace(panel, body);

  async function refresh() {
    try {
      const [teams, queues, agents, policies] = await Promise.all([
        api.get('/teams'), api.get('/queues'), api.get('/agents'), api.get('/sla/policies')]);
      replace(body,
        h('div', { class: 'grid2' },
          h('section', { class: 'panel' }, table(['team', 'name', 'social care', 'queues', 'agents'],
            teams.map((t) => h('tr', {}, h('th', { scope: 'row' }, t.id), h('td', {}, t.name),
              h('td', {}, t.social_care ? 'yes' : 'no'), h('td', {}, t.queues.join(', ')),
              h('td', {}, t.agents.join(', ')))), 'Teams')),
          h('section', { class: 'panel' }, table(['queue', 'team', 'waiting', 'oldest wait', 'by channel'],
            queues.map((q) => h('tr', {}, h('th', { scope: 'row' }, q.id), h('td', {}, q.team),
              h('td', { class: 'num' }, q.depth), h('td', { class: 'num' }, secs(q.oldest_wait)),
              h('td', {}, kv(q.channels)))), 'Queues'))),
        h('section', { class: 'panel' }, table(
          ['agent', 'teams', 'presence', 'skills', 'in use / capacity', 'change presence'],
          agents.map((a) => h('tr', { 'data-agent': a.id },
            h('th', { scope: 'row' }, a.name || a.id, h('br'), h('span', { class: 'muted' }, a.id)),
            h('td', {}, a.teams.join(', ')),
            h('td', {}, a.presence, a.reason ? ` (${a.reason})` : ''),
            h('td', {}, kv(a.skills)),
            h('td', {}, Object.entries(a.capacity).map(([c, n]) => `${c} ${a.active[c] || 0}/${n}`).join(', ')),
            h('td', {}, presenceControl(a, ctx, refresh)))), 'Agents')),
        h('section', { class: 'panel' }, table(
          ['team', 'channel', 'class', 'answer within', 'target', 'near breach', 'max wait'],
          policies.map((p) => h('tr', {}, h('th', { scope: 'row' }, p.team), h('td', {}, p.channel),
            h('td', {}, p.sla_class || 'default', p.public === null || p.public === undefined ? '' : (p.public ? ' · public' : ' · private')),
            h('td', { class: 'num' }, secs(p.threshold)), h('td', { class: 'num' }, pct(p.target)),
            h('td', { class: 'num' }, pct(p.near_breach)),
            h('td', {}, p.max_wait ? `${secs(p.max_wait)} → ${p.max_wait_action}${p.overflow_queue ? ` ${p.overflow_queue}` : ''}` : '—'))),
          'SLA policies (read-only: the API has no edit endpoint yet)')));
    } catch (err) {
      replace(body, h('p', { class: 'notice bad' }, describe(err)));
    }
  }

  return { shown: refresh };
}
