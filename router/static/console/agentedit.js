// Edit one agent's teams, skills and per-channel capacity (PUT /agents/{id}). The form
// writes maps as "skill:level, skill:level" so a supervisor can type them quickly; the
// API checks the change against the published rules and refuses (409) anything that
// would leave a rule unservable, and its findings are shown as they come.

import { ApiError, describe } from '/static/common/api.js';
import { h } from '/static/common/dom.js';

export function formatMap(map) {
  return Object.entries(map).map(([k, v]) => `${k}:${v}`).join(', ');
}

export function parseMap(text, what) {
  const out = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split(':').map((p) => p.trim());
    const number = Number(value);
    if (!key || !Number.isInteger(number)) throw new Error(`${what}: “${part}” is not name:number`);
    out[key] = number;
  }
  return out;
}

// An agent whose queues are all its teams' queues is unrestricted: send no list, so a
// queue added to the team later is served too.
function restriction(agent, teams) {
  const all = new Set(teams.filter((t) => agent.teams.includes(t.id)).flatMap((t) => t.queues));
  const same = agent.queues.length === all.size && agent.queues.every((q) => all.has(q));
  return same ? [] : agent.queues;
}

export function agentEditor(agent, teams, { api }, done, cancel) {
  const id = (name) => `edit-${agent.id}-${name}`;
  const name = h('input', { id: id('name'), value: agent.name, size: 18 });
  const teamList = h('input', { id: id('teams'), value: agent.teams.join(', '), size: 14 });
  const skills = h('input', { id: id('skills'), value: formatMap(agent.skills), size: 30 });
  const capacity = h('input', { id: id('capacity'), value: formatMap(agent.capacity), size: 36 });
  const message = h('p', { class: 'error-text', role: 'alert' });

  async function save(event) {
    event.preventDefault();
    try {
      const body = {
        name: name.value.trim(),
        teams: teamList.value.split(',').map((t) => t.trim()).filter(Boolean),
        skills: parseMap(skills.value, 'skills'),
        capacity: parseMap(capacity.value, 'capacity'),
        blocking: agent.blocking,  // not edited here: keep what the agent has
        queues: restriction(agent, teams),
      };
      const out = await api.put(`/agents/${encodeURIComponent(agent.id)}`, body);
      const warnings = out.rule_warnings || [];
      done(`Saved ${agent.id}.` + (warnings.length
        ? ` Rule warnings: ${warnings.map((w) => w.message).join('; ')}` : ''));
    } catch (err) {
      const findings = err instanceof ApiError ? err.problem.errors || err.problem.findings : null;
      message.textContent = describe(err) +
        (Array.isArray(findings) ? ` — ${findings.map((f) => f.message).join('; ')}` : '');
    }
  }

  return h('form', { class: 'agent-edit row', onsubmit: save, 'aria-label': `Edit ${agent.id}` },
    h('label', { for: id('name') }, 'Name', name),
    h('label', { for: id('teams') }, 'Teams', teamList),
    h('label', { for: id('skills') }, 'Skills (skill:1–5, …)', skills),
    h('label', { for: id('capacity') }, 'Capacity (channel:slots, …)', capacity),
    h('button', { type: 'submit' }, 'Save agent'),
    h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel'),
    message);
}
