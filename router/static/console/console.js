// Console entry point: log in, find out what the token may do, then start each panel.
// The role only decides which controls are enabled; the API enforces it regardless.

import { Api, ApiError, describe } from '/static/common/api.js';
import { $, announce } from '/static/common/dom.js';
import { tokenStore } from '/static/common/session.js';
import { startBoard } from './board.js';
import { startRules } from './rules.js';
import { setupTabs } from './tabs.js';
import { startTopology } from './topology.js';
import { startWhatIf } from './whatif.js';

const store = tokenStore('omniroute.console.token');

// supervisor, viewer, or an error naming why the token cannot use the console.
async function roleOf(api) {
  await api.get('/stats'); // 401 bad token, 403 not a reader
  try {
    await api.get('/rules/draft');
    return 'supervisor';
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return 'supervisor'; // no draft yet
    if (err instanceof ApiError && err.status === 403) return 'viewer';
    throw err;
  }
}

async function enter(token) {
  const api = new Api(token);
  const role = await roleOf(api);
  store.save(token);
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#who').hidden = false;
  const badge = $('#role-badge');
  badge.textContent = role === 'supervisor' ? 'supervisor' : 'viewer (read-only)';
  document.body.dataset.role = role;
  const ctx = {
    api,
    role,
    canEdit: role === 'supervisor',
    say: (text) => announce($('#announcer'), text),
  };
  const panels = {
    board: startBoard($('#panel-board'), ctx),
    rules: startRules($('#panel-rules'), ctx),
    topology: startTopology($('#panel-topology'), ctx),
    whatif: startWhatIf($('#panel-whatif'), ctx),
  };
  setupTabs($('[role="tablist"]'), (name) => panels[name]?.shown?.());
}

function main() {
  const form = $('#login');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    $('#login-error').textContent = '';
    try {
      await enter($('#login-token').value.trim());
    } catch (err) {
      $('#login-error').textContent = `Cannot log in: ${describe(err)}`;
    }
  });
  $('#logout').addEventListener('click', () => {
    store.clear();
    location.reload();
  });
  const saved = store.load();
  if (saved) enter(saved).catch(() => store.clear());
}

main();
