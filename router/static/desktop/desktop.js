// Agent desktop entry point: log in as one agent, keep presence and capacity current,
// pull work with Next (long-poll) or receive pushed offers over the offers stream, and
// carry each interaction through accept → wrap-up → complete.

import { Api, ApiError, describe } from '/static/common/api.js';
import { $, announce, replace } from '/static/common/dom.js';
import { tokenStore } from '/static/common/session.js';
import { openStream } from '/static/common/sse.js';
import { renderCapacity } from './capacity.js';
import { renderCard, tickCountdowns } from './card.js';
import { observe } from './clock.js';

const store = tokenStore('omniroute.desktop.token');
const agentStore = tokenStore('omniroute.desktop.agent');
const PULL_WAIT = 20; // seconds the Next button long-polls
// The offer event carries no deadline yet; the engine's default offer timeout stands in.
const OFFER_TIMEOUT = 20;
const FINISHED = new Set(['completed', 'abandoned', 'cancelled', 'transferred', 'expired', 'queued']);

const say = (text) => announce($('#announcer'), text);

class Desk {
  constructor(api, agentId) {
    this.api = api;
    this.agentId = agentId;
    this.base = `/agents/${encodeURIComponent(agentId)}`;
    this.items = new Map(); // interaction id -> {view, expiresAt}
    this.pull = null;
  }

  async refreshAgent() {
    const agent = await this.api.get(this.base);
    $('#agent-name').textContent = agent.name || agent.id;
    const badge = $('#presence-badge');
    badge.textContent = agent.presence.replace('_', ' ') + (agent.reason ? ` (${agent.reason})` : '');
    badge.className = `badge status-${agent.presence === 'available' ? 'ok' : agent.presence === 'offline' ? 'none' : 'warn'}`;
    badge.dataset.presence = agent.presence;
    // The selector lists what an agent can set. Wrap-up is shown by the badge alone and
    // leaves the selector on the presence the agent chose (it went blank before).
    const settable = [...$('#presence').options].some((o) => o.value === agent.presence);
    if (settable) $('#presence').value = agent.presence;
    $('#auto-offer').checked = agent.auto_offer;
    syncReason();
    renderCapacity($('#capacity'), agent);
    return agent;
  }

  // Re-read one interaction; drop it once it is no longer ours.
  async track(id, expiresAt) {
    const view = await this.api.get(`/interactions/${encodeURIComponent(id)}`);
    if (view.agent_id !== this.agentId || FINISHED.has(view.status)) {
      this.items.delete(id);
    } else {
      const known = this.items.get(id);
      this.items.set(id, { view, expiresAt: expiresAt ?? known?.expiresAt ?? null });
    }
    this.render();
  }

  render() {
    const box = $('#items');
    replace(box, [...this.items.values()].map((item) => renderCard(item, (...a) => this.act(...a))));
    tickCountdowns(box);
  }

  async act(step, item, body) {
    const id = item.view.id;
    try {
      const done = await this.api.post(`${this.base}/interactions/${encodeURIComponent(id)}/${step}`, body);
      say(`${step.replaceAll('-', ' ')}: ${id}`);
      if (done?.next) this.reserved(done.next); // complete-and-next handed out the next one
    } catch (err) {
      const card = document.querySelector(`[data-id="${CSS.escape(id)}"] .card-error`);
      if (card) card.textContent = describe(err);
    }
    await Promise.all([this.track(id).catch(() => this.items.delete(id)), this.refreshAgent()]);
  }

  // A reservation `next` or `complete-and-next` answered with.
  reserved({ reservation, interaction }) {
    observe(reservation.reserved_at);
    this.items.set(interaction.id, { view: interaction, expiresAt: reservation.expires_at });
    $('#next-status').textContent = `Reserved ${interaction.channel} ${interaction.id}.`;
    say(`New ${interaction.channel} interaction reserved for you.`);
    this.render();
    // the answer carries the bare interaction: re-read it for the customer profile
    this.track(interaction.id, reservation.expires_at).catch(() => {});
  }

  async next() {
    if (this.pull) return;
    this.pull = new AbortController();
    $('#next').disabled = true;
    $('#cancel-next').hidden = false;
    $('#next-status').textContent = `Waiting for work (up to ${PULL_WAIT} s)…`;
    try {
      const res = await this.api.call('POST', `${this.base}/next?wait=${PULL_WAIT}`,
        { signal: this.pull.signal });
      if (res.status === 204) {
        $('#next-status').textContent = `Nothing eligible within ${PULL_WAIT} s.`;
      } else {
        this.reserved(res.data);
      }
    } catch (err) {
      $('#next-status').textContent = err.name === 'AbortError' ? 'Stopped waiting.' : describe(err);
    } finally {
      this.pull = null;
      $('#next').disabled = false;
      $('#cancel-next').hidden = true;
      this.refreshAgent();
    }
  }

  onOffer(kind, data) {
    if (kind === 'ready') return;
    if (data.at) observe(data.at);
    if (kind === 'offer' || kind === 'reserved') {
      const expires = data.detail?.expires_at ?? data.at + OFFER_TIMEOUT;
      if (kind === 'offer') say(`New ${data.channel} offer.`);
      this.track(data.interaction_id, expires).catch(() => {});
    } else {
      this.track(data.interaction_id).catch(() => {});
    }
    this.refreshAgent().catch(() => {});
  }

  async restore(agent) {
    await Promise.all(Object.keys(agent.held).map((id) => this.track(id).catch(() => {})));
  }
}

function syncReason() {
  $('#reason').disabled = $('#presence').value !== 'not_ready';
}

async function setPresence(desk) {
  $('#presence-error').textContent = '';
  const presence = $('#presence').value;
  try {
    await desk.api.put(`${desk.base}/presence`, {
      presence,
      reason: presence === 'not_ready' ? $('#reason').value : null,
      auto_offer: $('#auto-offer').checked,
    });
    await desk.refreshAgent();
    say(`You are ${presence.replace('_', ' ')}.`);
  } catch (err) {
    $('#presence-error').textContent = describe(err);
  }
}

async function enter(agentId, token) {
  const desk = new Desk(new Api(token), agentId);
  const agent = await desk.refreshAgent(); // 401/403/404 end the log in here
  store.save(token);
  agentStore.save(agentId);
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#who').hidden = false;
  $('#presence').addEventListener('change', syncReason);
  $('#presence-form').addEventListener('submit', (event) => {
    event.preventDefault();
    setPresence(desk);
  });
  $('#next').addEventListener('click', () => desk.next());
  $('#cancel-next').addEventListener('click', () => desk.pull?.abort());
  openStream(desk.api, `${desk.base}/offers`, {
    onEvent: (kind, data) => desk.onOffer(kind, data),
    onState: (state) => {
      const line = $('#offers-state');
      line.dataset.state = state;
      line.textContent = { open: 'Offers: connected — pushed offers appear below.',
        reconnecting: 'Offers: reconnecting…', refused: 'Offers: refused by the server.' }[state] || state;
    },
  });
  setInterval(() => tickCountdowns($('#items')), 250);
  await desk.restore(agent);
}

function guessAgent(token) {
  // Demo tokens name their agent (demo-agent-<id>-token); real tokens do not.
  const found = /^demo-agent-(.+)-token$/.exec(token);
  return found ? found[1] : '';
}

function main() {
  $('#login-token').addEventListener('change', () => {
    if (!$('#login-agent').value) $('#login-agent').value = guessAgent($('#login-token').value.trim());
  });
  $('#login').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('#login-error').textContent = '';
    const token = $('#login-token').value.trim();
    const agentId = $('#login-agent').value.trim() || guessAgent(token);
    try {
      await enter(agentId, token);
    } catch (err) {
      const why = err instanceof ApiError && err.status === 403
        ? 'this token may not act for that agent' : describe(err);
      $('#login-error').textContent = `Cannot log in: ${why}`;
    }
  });
  $('#logout').addEventListener('click', () => {
    store.clear();
    agentStore.clear();
    location.reload();
  });
  const token = store.load();
  const agentId = agentStore.load();
  if (token && agentId) enter(agentId, token).catch(() => store.clear());
}

main();
