// What-if: compare staffing or rules scenarios in the simulator. The panel looks the
// comparison endpoint up in the API's own OpenAPI document, so it lights up by itself
// once the simulator is wired in, and says plainly that it is not until then.

import { describe } from '/static/common/api.js';
import { h, replace } from '/static/common/dom.js';

const SIMULATOR = /simulat|what-?if/i;

export function startWhatIf(panel, { api, canEdit }) {
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
    const input = h('textarea', { id: 'whatif-input', rows: 6, cols: 60 }, '{}');
    const out = h('pre', { id: 'whatif-output' });
    const run = async () => {
      try {
        out.textContent = JSON.stringify(await api.post(path, JSON.parse(input.value)), null, 2);
      } catch (err) {
        out.textContent = describe(err);
      }
    };
    replace(body, h('p', {}, `Scenario comparison: POST ${path}`),
      h('label', { for: 'whatif-input' }, 'Scenario (JSON)'), input,
      h('p', {}, h('button', { type: 'button', onclick: run, disabled: !canEdit }, 'Compare')), out);
  }

  return { shown: () => check().catch((err) => replace(body, describe(err))) };
}
