// Teams, queues, agents and SLA policies. A supervisor fixes staffing from here: an
// agent's presence, its teams, skills and capacity, and the SLA policy numbers.

import { describe } from '/static/common/api.js';
import { h, replace, table } from '/static/common/dom.js';
import { secs } from '/static/common/format.js';
import { agentEditor } from './agentedit.js';
import { slaEditor } from './slaedit.js';

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

function teamsTable(teams) {
  return table(['team', 'name', 'social care', 'queues', 'agents'],
    teams.map((t) => h('tr', {}, h('th', { scope: 'row' }, t.id), h('td', {}, t.name),
      h('td', {}, t.social_care ? 'yes' : 'no'), h('td', {}, t.queues.join(', ')),
      h('td', {}, t.agents.join(', ')))), 'Teams');
}

function queuesTable(queues) {
  return table(['queue', 'team', 'waiting', 'oldest wait', 'by channel'],
    queues.map((q) => h('tr', {}, h('th', { scope: 'row' }, q.id), h('td', {}, q.team),
      h('td', { class: 'num' }, q.depth), h('td', { class: 'num' }, q.depth ? secs(q.oldest_wait) : '—'),
      h('td', {}, kv(q.channels)))), 'Queues');
}

export function startTopology(panel, ctx) {
  const { api } = ctx;
  const body = h('div', {});
  const editing = h('div', { id: 'agent-editor' });
  // Outside the re-rendered tables, so a confirmation survives the refresh it triggers.
  const status = h('p', { id: 'topology-status', role: 'status' });
  replace(panel, status, body);
  const saved = (text) => {
    status.textContent = text;
    replace(editing);
    refresh();
  };

  function agentRow(a, teams) {
    const edit = () => replace(editing, h('h3', {}, `Edit ${a.id}`),
      agentEditor(a, teams, ctx, saved, () => replace(editing)));
    return h('tr', { 'data-agent': a.id },
      h('th', { scope: 'row' }, a.name || a.id, h('br'), h('span', { class: 'muted' }, a.id)),
      h('td', {}, a.teams.join(', ')),
      h('td', {}, a.presence, a.reason ? ` (${a.reason})` : ''),
      h('td', {}, kv(a.skills)),
      h('td', {}, Object.entries(a.capacity).map(([c, n]) => `${c} ${a.active[c] || 0}/${n}`).join(', ')),
      h('td', {}, presenceControl(a, ctx, refresh)),
      h('td', {}, h('button', { type: 'button', class: 'secondary small', disabled: !ctx.canEdit,
        onclick: edit, 'aria-label': `Edit ${a.id}` }, 'Edit')));
  }

  async function refresh() {
    try {
      const [teams, queues, agents, policies] = await Promise.all([
        api.get('/teams'), api.get('/queues'), api.get('/agents'), api.get('/sla/policies')]);
      replace(body,
        h('div', { class: 'grid2' },
          h('section', { class: 'panel' }, teamsTable(teams)),
          h('section', { class: 'panel' }, queuesTable(queues))),
        h('section', { class: 'panel' }, table(
          ['agent', 'teams', 'presence', 'skills', 'in use / capacity', 'change presence', ''],
          agents.map((a) => agentRow(a, teams)), 'Agents'), editing),
        h('section', { class: 'panel' }, slaEditor(policies, ctx, saved)));
    } catch (err) {
      replace(body, h('p', { class: 'notice bad' }, describe(err)));
    }
  }

  return { shown: refresh };
}
