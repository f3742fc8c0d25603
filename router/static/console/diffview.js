// A unified diff as text, each line tagged added/removed/context for colour, with the
// +/- prefix kept so the meaning survives without colour.

import { h } from '/static/common/dom.js';

export function diffView(unified, label) {
  const lines = (unified || '(no differences)').split('\n').map((line) => {
    const kind = line.startsWith('+') && !line.startsWith('+++') ? 'add'
      : line.startsWith('-') && !line.startsWith('---') ? 'del'
        : line.startsWith('@@') ? 'hunk' : 'ctx';
    return h('span', { class: `diff-${kind}` }, `${line}\n`);
  });
  return h('pre', { class: 'diff', 'aria-label': label, tabindex: 0 }, lines);
}
