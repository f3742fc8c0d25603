// Version history: every published version with author, time and comment; a diff of
// any version against the one before it; roll back (a new version equal to an older
// one, If-Match the current version like any publish).

import { describe } from '/static/common/api.js';
import { h, replace, table } from '/static/common/dom.js';
import { stamp } from '/static/common/format.js';
import { diffView } from './diffview.js';

export function versionsPanel({ api, canEdit, say }, { current, onChange }) {
  const list = h('div', { id: 'versions-list' });
  const detail = h('div', { id: 'versions-detail', 'aria-live': 'polite' });
  const comment = h('input', { id: 'rollback-comment', placeholder: 'why roll back', size: 30,
    disabled: !canEdit });

  async function showDiff(from, to) {
    try {
      const d = await api.get(`/rules/diff?from=${from}&to=${to}`);
      const changed = d.rules.map((r) => `${r.name} ${r.kind}${r.fields.length ? ` (${r.fields.join(', ')})` : ''}`);
      replace(detail, h('h3', {}, `Changes from v${from} to v${to}`),
        h('p', {}, changed.length ? changed.join('; ') : 'No rule changed.',
          d.default_changed ? ' Default plan changed.' : ''),
        diffView(d.unified, `diff v${from} to v${to}`));
    } catch (err) {
      replace(detail, h('p', { class: 'notice bad' }, describe(err)));
    }
  }

  async function rollBack(number) {
    try {
      const out = await api.post('/rules/rollback', { to_version: number, comment: comment.value },
        { headers: { 'If-Match': `"${current()}"` } });
      say(`Rolled back: version ${out.version} equals version ${number}.`);
      replace(detail, h('p', { class: 'notice ok', role: 'status' },
        `Published v${out.version} equal to v${number}.`));
      await onChange();
    } catch (err) {
      replace(detail, h('p', { class: 'notice bad', role: 'alert' }, `Roll back failed: ${describe(err)}`));
    }
  }

  async function load() {
    const versions = await api.get('/rules/versions');
    const rows = versions.slice().reverse().map((v) => h('tr', { 'data-version': v.version },
      h('th', { scope: 'row' }, `v${v.version}`, v.version === current() ? ' (live)' : ''),
      h('td', {}, stamp(v.published_at)), h('td', {}, v.author),
      h('td', {}, v.comment, v.rolled_back_from ? ` (roll back of v${v.rolled_back_from})` : ''),
      h('td', {},
        v.version > 1 ? h('button', { type: 'button', class: 'secondary small',
          onclick: () => showDiff(v.version - 1, v.version) }, `Diff v${v.version - 1}→v${v.version}`) : null,
        ' ',
        v.version !== current() ? h('button', { type: 'button', class: 'secondary small',
          disabled: !canEdit, onclick: () => rollBack(v.version) }, `Roll back to v${v.version}`) : null)));
    replace(list, table(['version', 'published', 'author', 'comment', ''], rows));
  }

  const root = h('section', { class: 'panel', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, 'Version history'),
    h('div', { class: 'row' }, h('label', { for: 'rollback-comment' }, 'Roll back comment', comment)),
    list, detail);
  return { root, load, showDiff };
}
