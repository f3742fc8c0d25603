// A plain textarea with a line-number gutter and per-line error marks. Lines never wrap,
// so gutter row N is always text line N; the gutter and the highlight band follow the
// textarea's scroll. Error lines are marked in the gutter (colour and a "!" glyph) and
// named in the gutter row's title, and `goTo` puts the caret on the reported column.

import { h } from '/static/common/dom.js';

const LINE_PX = 20; // must match .editor line-height in console.css

export function createEditor({ id, label, readOnly = false }) {
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const bands = h('div', { class: 'bands', 'aria-hidden': 'true' });
  const area = h('textarea', { id, spellcheck: false, wrap: 'off', readOnly,
    autocomplete: 'off', autocapitalize: 'off', rows: 24 });
  const root = h('div', { class: 'editor', id: `${id}-editor` },
    h('label', { for: id, class: 'visually-hidden' }, label),
    gutter, h('div', { class: 'surface' }, bands, area));
  let marks = new Map();

  function renderGutter() {
    const count = area.value.split('\n').length;
    const rows = [];
    for (let n = 1; n <= count; n += 1) {
      const messages = marks.get(n);
      rows.push(h('div', { 'data-line': n, class: messages ? 'error' : null,
        title: messages ? messages.join('\n') : null }, messages ? `! ${n}` : String(n)));
    }
    gutter.replaceChildren(...rows);
    bands.replaceChildren(...[...marks.keys()].map((n) => {
      const band = h('div', { class: 'band', 'data-line': n });
      band.style.top = `${(n - 1) * LINE_PX + 4}px`; // CSSOM, allowed by the CSP
      return band;
    }));
    follow();
  }

  function follow() {
    gutter.scrollTop = area.scrollTop;
    bands.style.transform = `translate(${-area.scrollLeft}px, ${-area.scrollTop}px)`;
  }

  area.addEventListener('input', () => {
    marks = new Map(); // positions no longer hold once the text changes
    renderGutter();
  });
  area.addEventListener('scroll', follow);

  return {
    root,
    textarea: area,
    get value() {
      return area.value;
    },
    set value(text) {
      area.value = text;
      marks = new Map();
      renderGutter();
    },
    // findings: [{line, message}]; lines without a position are ignored here.
    mark(findings) {
      marks = new Map();
      for (const f of findings) {
        if (!f.line) continue;
        marks.set(f.line, [...(marks.get(f.line) || []), f.message]);
      }
      renderGutter();
    },
    goTo(line, column = 1) {
      const lines = area.value.split('\n');
      let offset = 0;
      for (let i = 0; i < Math.min(line - 1, lines.length); i += 1) offset += lines[i].length + 1;
      offset += Math.max(0, Math.min(column - 1, (lines[line - 1] || '').length));
      area.focus();
      area.setSelectionRange(offset, offset);
      area.scrollTop = Math.max(0, (line - 1) * LINE_PX - area.clientHeight / 3);
      follow();
    },
  };
}
