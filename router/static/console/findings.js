// Validation findings as a list: each names its rule, field, line and column, and a
// button moves the caret there. The list is an alert region so errors are read out.

import { h, replace } from '/static/common/dom.js';

export function describeFinding(f) {
  const where = [
    f.rule ? `rule “${f.rule}”` : null,
    f.field ? `field ${f.field}` : null,
    f.line ? `line ${f.line}, column ${f.column ?? 1}` : 'no position',
  ].filter(Boolean).join(', ');
  return `${f.severity || 'error'} in ${where}: ${f.message}`;
}

export function showFindings(box, { ok, errors = [], warnings = [] }, editor, okText) {
  editor.mark(errors);
  const items = [...errors, ...warnings].map((f) => h('li',
    { class: f.severity === 'warning' ? 'finding warning' : 'finding error',
      'data-line': f.line ?? '', 'data-rule': f.rule ?? '' },
    h('span', {}, describeFinding(f)), ' ',
    f.line ? h('button', { type: 'button', class: 'secondary small',
      onclick: () => editor.goTo(f.line, f.column ?? 1) }, `Go to line ${f.line}`) : null));
  replace(box,
    h('p', { class: ok ? 'notice ok' : 'notice bad' },
      ok ? okText || 'Valid: no errors.' : `${errors.length} error(s): not publishable.`,
      warnings.length ? ` ${warnings.length} warning(s).` : ''),
    items.length ? h('ul', { class: 'findings' }, items) : null);
}
