// What-if: predict service levels under a draft ruleset. The simulator runs the same
// generated traffic through the routing core twice — published rules and the draft —
// and the panel shows both predictions per team × channel, with the difference
// highlighted. The panel looks the endpoint up in the API's own OpenAPI document, so a
// server without the simulator (installed without a source checkout) says so plainly.
// Supervisors and viewers may both run it: nothing is changed.

import { describe } from '/static/common/api.js';
import { h, replace, table } from '/static/common/dom.js';
import { pct, secs } from '/static/common/format.js';

const SIMULATOR = /simulat|what-?if/i;

function delta(value) {
  if (value === null || value === undefined) return { text: '—', cls: 'same' };
  const points = Math.round(value * 1000) / 10;
  if (points === 0) return { text: '±0 pts', cls: 'same' };
  return { text: `${points > 0 ? '+' : ''}${points} pts`, cls: points > 0 ? 'better' : 'worse' };
}

function resultTable(out) {
  const rows = out.rows.map((r) => {
    const d = delta(r.service_level_delta);
    const sl = (f) => (f ? pct(f.service_level) : 'no traffic');
    const asa = (f) => (f ? secs(f.asa) : '—');
    const offered = (f) => (f ? f.offered : 0);
    return h('tr', { 'data-team': r.team, 'data-channel': r.channel, class: `delta-${d.cls}` },
      h('th', { scope: 'row' }, `${r.team} · ${r.channel}`),
      h('td', {}, `${pct(r.target)} in ${secs(r.threshold)}`),
      h('td', { class: 'published' }, sl(r.published), h('br'),
        h('small', { class: 'muted' }, `${offered(r.published)} offered, ASA ${asa(r.published)}`)),
      h('td', { class: 'draft' }, sl(r.draft), h('br'),
        h('small', { class: 'muted' }, `${offered(r.draft)} offered, ASA ${asa(r.draft)}`)),
      h('td', { class: `delta ${d.cls}` }, d.text));
  });
  return table(['team · channel', 'target', `published v${out.published_version}`, 'draft',
    'draft − published'], rows,
  `Predicted service level, ${out.hours} h from 08:00, seed ${out.seed}, ${out.arrivals} arrivals`);
}

export function startWhatIf(panel, { api }) {
  const body = h('div', { id: 'whatif-body', 'aria-live': 'polite' }, 'Looking for the simulator…');
  replace(panel, h('section', { class: 'panel' }, h('h2', {}, 'What-if'), body));
  let checked = false;

  async function check() {
    if (checked) return;
    checked = true;
    const spec = await fetch('/openapi.json').then((r) => r.json());
    const found = Object.entries(spec.paths || {}).find(([path, ops]) => SIMULATOR.test(path) && ops.post);
    if (!found) {
      replace(body, h('p', { class: 'notice', id: 'whatif-missing' },
        'The simulator isn’t wired yet: this server has no scenario comparison endpoint. ',
        'When one is added to the API, this panel will offer it here.'));
      return;
    }
    const [path] = found;
    const source = h('select', { id: 'whatif-source' },
      h('option', { value: 'editor' }, 'the rules editor’s text'),
      h('option', { value: 'draft' }, 'the saved draft'));
    const hours = h('input', { id: 'whatif-hours', type: 'number', min: 1, max: 24, step: 1,
      value: '4', size: 3 });
    const seed = h('input', { id: 'whatif-seed', type: 'number', min: 0, step: 1, value: '7',
      size: 6 });
    const button = h('button', { type: 'submit', id: 'whatif-run' }, 'Compare');
    const out = h('div', { id: 'whatif-result', 'aria-live': 'polite' });

    async function run(event) {
      event.preventDefault();
      const request = { hours: Number(hours.value), seed: Number(seed.value) };
      if (source.value === 'draft') {
        request.use_draft = true;
      } else {
        const editor = document.querySelector('#draft-yaml');
        if (!editor || !editor.value.trim()) {
          replace(out, h('p', { class: 'notice bad', role: 'alert' },
            'The rules editor is empty: open the Rules tab or compare the saved draft.'));
          return;
        }
        request.ruleset = editor.value;
      }
      button.disabled = true;
      replace(out, h('p', { class: 'muted' }, 'Simulating both rulesets…'));
      try {
        replace(out, resultTable(await api.post(path, request)));
      } catch (err) {
        const findings = err.problem && err.problem.errors ? err.problem.errors : [];
        replace(out, h('p', { class: 'notice bad', role: 'alert' }, `What-if failed: ${describe(err)}`),
          findings.length ? h('ul', { class: 'error-text' }, findings.map((f) => h('li', {},
            [f.rule, f.line ? `line ${f.line}` : null, f.message].filter(Boolean).join(': ')))) : null);
      } finally {
        button.disabled = false;
      }
    }

    replace(body,
      h('p', { class: 'muted' }, 'Runs generated traffic for the example contact center ',
        'through the router twice — with the published rules and with the draft — and ',
        `predicts the service level per team and channel (POST ${path}). Nothing is changed.`),
      h('form', { id: 'whatif-form', class: 'row', onsubmit: run },
        h('label', { for: 'whatif-source' }, 'Draft', source),
        h('label', { for: 'whatif-hours' }, 'Hours', hours),
        h('label', { for: 'whatif-seed' }, 'Seed', seed), button),
      out);
  }

  return { shown: () => check().catch((err) => replace(body, describe(err))) };
}
