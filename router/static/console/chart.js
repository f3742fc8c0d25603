// Inline SVG chart of service level (left axis, %) and total depth (right axis) over the
// last hour. No library: two polylines, a target line and a few labels. The time axis
// grows with the page's history (at least 5 minutes, at most the hour), so a freshly
// opened board does not squeeze everything into the right edge.

import { WINDOW_SECONDS } from './history.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 170;
const PAD = { left: 40, right: 40, top: 10, bottom: 22 };

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

const MIN_SPAN = 300;

function points(samples, now, span, value, max) {
  const x = (t) => PAD.left + ((t - (now - span)) / span) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  return samples
    .filter((s) => value(s) !== null)
    .map((s) => `${x(s.at).toFixed(1)},${y(value(s)).toFixed(1)}`)
    .join(' ');
}

export function drawChart(container, samples, target) {
  const now = samples.length ? samples[samples.length - 1].at : Date.now() / 1000;
  const maxDepth = Math.max(5, ...samples.map((s) => s.depth));
  const first = samples.length ? samples[0].at : now;
  const span = Math.min(WINDOW_SECONDS, Math.max(MIN_SPAN, Math.ceil((now - first) / 60) * 60));
  const last = samples[samples.length - 1];
  const summary = last
    ? `Since page load (up to an hour): ${samples.length} samples; now service level ` +
      `${last.level === null ? 'no data' : Math.round(last.level * 100) + '%'}, depth ${last.depth}.`
    : 'No samples yet.';
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary,
    class: 'chart' });
  root.append(svg('title', {}, summary));
  const bottom = H - PAD.bottom;
  root.append(svg('line', { x1: PAD.left, y1: bottom, x2: W - PAD.right, y2: bottom, class: 'axis' }));
  for (const [label, v] of [['100%', 1], ['50%', 0.5], ['0%', 0]]) {
    const y = bottom - v * (H - PAD.top - PAD.bottom);
    root.append(svg('text', { x: PAD.left - 4, y: y + 4, 'text-anchor': 'end', class: 'tick' }, label));
  }
  root.append(svg('text', { x: W - PAD.right + 4, y: PAD.top + 8, class: 'tick' }, String(maxDepth)));
  root.append(svg('text', { x: W - PAD.right + 4, y: bottom + 4, class: 'tick' }, '0'));
  root.append(svg('text', { x: PAD.left, y: H - 4, class: 'tick' }, `−${Math.round(span / 60)} min`));
  root.append(svg('text', { x: W - PAD.right, y: H - 4, 'text-anchor': 'end', class: 'tick' }, 'now'));
  if (target !== null) {
    const y = bottom - target * (H - PAD.top - PAD.bottom);
    root.append(svg('line', { x1: PAD.left, y1: y, x2: W - PAD.right, y2: y, class: 'target' }));
  }
  root.append(svg('polyline', { points: points(samples, now, span, (s) => s.depth, maxDepth), class: 'depth' }));
  root.append(svg('polyline', { points: points(samples, now, span, (s) => s.level, 1), class: 'level' }));
  container.replaceChildren(root);
}
