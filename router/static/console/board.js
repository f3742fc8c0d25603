// The live board: depth and oldest wait per team × queue × channel, service level now
// and this interval against target, agents by presence, breaches. It re-reads /stats
// whenever the /events stream reports anything (coalesced), and every few seconds
// anyway because waits grow and SL windows slide even when nothing happens.

import { h, replace, table } from '/static/common/dom.js';
import { pct, secs, clock } from '/static/common/format.js';
import { openStream } from '/static/common/sse.js';
import { drawChart } from './chart.js';
import { History } from './history.js';
import { overallLevel, slStatus } from './status.js';

const POLL_MS = 5000;
const LOG_SIZE = 15;

function light(level, target) {
  const { tone, text } = slStatus(level, target);
  return h('span', { class: `badge status-${tone}`, 'data-tone': tone }, `${pct(level)} · ${text}`);
}

// One row per queue × channel its team has an SLA for, plus any channel with waiting work.
function boardRows(queues, stats) {
  const levels = new Map(stats.service_levels.map((s) => [`${s.team}/${s.channel}`, s]));
  const waiting = new Map(stats.queues.map((q) => [`${q.queue}/${q.channel}`, q]));
  const rows = [];
  for (const queue of queues) {
    const channels = new Set(stats.service_levels.filter((s) => s.team === queue.team)
      .map((s) => s.channel));
    for (const q of stats.queues) if (q.queue === queue.id) channels.add(q.channel);
    for (const channel of [...channels].sort()) {
      const sl = levels.get(`${queue.team}/${channel}`);
      const w = waiting.get(`${queue.id}/${channel}`);
      rows.push(h('tr', { 'data-queue': queue.id, 'data-channel': channel },
        h('td', {}, queue.team), h('th', { scope: 'row' }, queue.id), h('td', {}, channel),
        h('td', { class: 'num depth' }, w ? w.depth : 0),
        h('td', { class: 'num' }, w ? secs(w.oldest_wait) : '—'),
        h('td', {}, sl ? light(sl.service_level_now, sl.target) : '—'),
        h('td', {}, sl ? light(sl.service_level_interval, sl.target) : '—'),
        h('td', { class: 'num' }, sl ? `${pct(sl.target)} in ${secs(sl.threshold)}` : '—'),
        h('td', { class: 'num' }, sl ? sl.interval.breaches : 0)));
    }
  }
  return rows;
}

function presenceTable(stats) {
  const kinds = ['available', 'not_ready', 'wrap_up', 'offline'];
  const rows = Object.entries(stats.agents_by_presence).map(([team, counts]) =>
    h('tr', {}, h('th', { scope: 'row' }, team),
      kinds.map((k) => h('td', { class: 'num' }, counts[k] || 0))));
  return table(['team', ...kinds.map((k) => k.replace('_', ' '))], rows, 'Agents by presence');
}

function tile(label, value, name) {
  return h('div', { class: 'tile', 'data-tile': name }, h('span', { class: 'label' }, label),
    h('span', { class: 'value' }, value));
}

function sum(list, pick) {
  return list.reduce((total, item) => total + pick(item), 0);
}

export function startBoard(panel, { api }) {
  const history = new History();
  let queues = [];
  let breachEvents = 0;
  let pending = null;
  const summary = h('div', { class: 'tiles', 'aria-live': 'polite', id: 'board-summary' });
  const status = h('p', { class: 'muted', id: 'stream-state', 'data-state': 'connecting' },
    'Live updates: connecting…');
  const grid = h('div', { id: 'board-grid' });
  const presence = h('div', { id: 'board-presence' });
  const chart = h('div', { id: 'board-chart' });
  const log = h('ol', { class: 'event-log', role: 'log', 'aria-live': 'off', id: 'event-log' });
  replace(panel,
    h('div', { class: 'panel' }, h('h2', {}, 'Live board'), status, summary),
    h('div', { class: 'panel' }, h('h2', {}, 'Queues'), grid),
    h('div', { class: 'grid3' },
        h('div', { class: 'panel' }, h('h2', {}, 'Service level and depth (up to the last hour)'),
          chart,
          h('p', { class: 'muted legend' },
            h('span', { class: 'key level' }, 'service level (now window)'), ' ',
            h('span', { class: 'key depth' }, 'waiting'), ' ',
            h('span', { class: 'key target' }, 'target'),
            ' — sampled by this page since it was opened.')),
        h('div', { class: 'panel' }, presence),
        h('div', { class: 'panel' }, h('h2', {}, 'Recent events'), log)));

  async function refresh() {
    try {
      if (!queues.length) queues = await api.get('/queues');
      const stats = await api.get('/stats');
      render(stats);
    } catch (err) {
      status.textContent = `Cannot read /stats: ${err.message}`;
    }
  }

  function render(stats) {
    const levels = stats.service_levels;
    const depth = sum(stats.queues, (q) => q.depth);
    const level = overallLevel(levels, 'now');
    history.add(stats.at, level, depth);
    const targets = levels.map((s) => s.target);
    const target = targets.length ? sum(targets, (t) => t) / targets.length : null;
    replace(summary,
      tile('Waiting', depth, 'waiting'),
      tile('Oldest wait', secs(Math.max(0, ...stats.queues.map((q) => q.oldest_wait))), 'oldest'),
      tile('SL now', pct(level), 'sl-now'),
      tile('SL this interval', pct(overallLevel(levels, 'interval')), 'sl-interval'),
      tile('Answered (interval)', sum(levels, (s) => s.interval.answered), 'answered'),
      tile('Completed (interval)', sum(levels, (s) => s.interval.completed), 'completed'),
      tile('Breaches (interval)', sum(levels, (s) => s.interval.breaches), 'breaches'),
      tile('Breaches seen since page load', breachEvents, 'breach-events'));
    replace(grid, table(
      ['team', 'queue', 'channel', 'waiting', 'oldest wait', 'SL now', 'SL interval', 'target',
        'breaches'], boardRows(queues, stats),
      `Interval from ${clock(stats.interval.start)} (${stats.interval.length / 60} min). ` +
      'Service level is measured per team × channel, so queues of one team share it.'));
    replace(presence, presenceTable(stats));
    drawChart(chart, history.samples, target);
  }

  function soon() {
    pending ??= setTimeout(() => {
      pending = null;
      refresh();
    }, 250);
  }

  function logEvent(kind, data) {
    if (kind === 'sla_breached') breachEvents += 1;
    const who = data.interaction_id || data.agent_id || '';
    const where = [data.queue, data.agent_id && data.interaction_id ? `→ ${data.agent_id}` : '']
      .filter(Boolean).join(' ');
    log.prepend(h('li', { 'data-kind': kind },
      h('time', {}, clock(data.at)), ' ', h('strong', {}, kind), ' ', who, ' ', where));
    while (log.children.length > LOG_SIZE) log.lastChild.remove();
  }

  openStream(api, '/events', {
    onEvent: (kind, data) => {
      if (kind !== 'ready') logEvent(kind, data);
      soon();
    },
    onState: (state) => {
      status.dataset.state = state;
      status.textContent = {
        open: 'Live updates: connected (event stream).',
        reconnecting: 'Live updates: reconnecting…',
        refused: 'Live updates: refused by the server.',
      }[state] || state;
    },
  });
  refresh();
  setInterval(refresh, POLL_MS);
  return { shown: refresh };
}
