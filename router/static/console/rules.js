// Rules: the published ruleset and the draft side by side. The draft is edited as YAML
// (CEL conditions), validated on demand, saved, dry-run and published with If-Match
// set to the version the edit started from; if someone published meanwhile (412) the
// other version and a diff are shown instead of overwriting their work.

import { ApiError, describe } from '/static/common/api.js';
import { h, replace } from '/static/common/dom.js';
import { stamp } from '/static/common/format.js';
import { diffView } from './diffview.js';
import { dryRunPanel } from './dryrun.js';
import { createEditor } from './editor.js';
import { showFindings } from './findings.js';
import { versionsPanel } from './versions.js';

export function startRules(panel, ctx) {
  const { api, canEdit, say } = ctx;
  let published = null; // the live version record
  let base = null; // the version the editor text was started from

  const live = createEditor({ id: 'published-yaml', label: 'Published ruleset (read-only)', readOnly: true });
  const draft = createEditor({ id: 'draft-yaml', label: 'Draft ruleset (YAML with CEL conditions)' });
  const liveTitle = h('h2', { id: 'published-title' }, 'Published');
  const liveMeta = h('p', { class: 'muted' });
  const draftMeta = h('p', { class: 'muted', id: 'draft-meta' });
  const findings = h('div', { id: 'findings', role: 'alert' });
  const conflict = h('div', { id: 'conflict' });
  const comment = h('input', { id: 'publish-comment', size: 40, maxlength: 500,
    placeholder: 'what changed and why', disabled: !canEdit });
  const versions = versionsPanel(ctx, { current: () => published?.version, onChange: reload });

  const button = (label, onclick, { edit = false, primary = false, id } = {}) =>
    h('button', { type: 'button', id, class: primary ? '' : 'secondary', onclick,
      disabled: edit && !canEdit }, label);

  async function validate() {
    try {
      const report = (await api.call('POST', '/rules/validate', { yaml: draft.value })).data;
      showFindings(findings, report, draft);
      say(report.ok ? 'Ruleset is valid.' : `${report.errors.length} validation errors.`);
    } catch (err) {
      replace(findings, h('p', { class: 'notice bad' }, describe(err)));
    }
  }

  async function saveDraft() {
    try {
      const out = (await api.call('PUT', '/rules/draft', { yaml: draft.value })).data;
      showFindings(findings, out, draft, 'Draft saved; it is valid.');
      draftMeta.textContent = `Draft saved by ${out.author} at ${stamp(out.saved_at)}, based on v${out.base_version ?? base}.`;
    } catch (err) {
      failed(err, 'Save failed');
    }
  }

  async function publish() {
    replace(conflict);
    replace(findings);
    try {
      const res = await api.call('POST', `/rules/publish?comment=${encodeURIComponent(comment.value)}`,
        { yaml: draft.value, headers: { 'If-Match': `"${base}"` } });
      replace(findings, h('p', { class: 'notice ok', id: 'publish-result' },
        `Published v${res.data.version}.`, res.data.warnings.length ? ` ${res.data.warnings.length} warning(s).` : ''));
      say(`Published version ${res.data.version}.`);
      comment.value = '';
      await reload();
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) await showConflict(err.problem);
      else failed(err, 'Publish failed');
    }
  }

  function failed(err, what) {
    if (err instanceof ApiError && err.problem.errors) {
      showFindings(findings, { ok: false, errors: err.problem.errors, warnings: err.problem.warnings || [] }, draft);
    } else {
      replace(findings, h('p', { class: 'notice bad' }, `${what}: ${describe(err)}`));
    }
  }

  // Someone published since this edit began: show their version, what changed between
  // the two, and let the user rebase knowingly (nothing is merged automatically).
  async function showConflict(problem) {
    const theirs = problem.current_version;
    const [other, diff] = await Promise.all([
      api.get(`/rules/versions/${theirs}`),
      api.get(`/rules/diff?from=${problem.base_version}&to=${theirs}`).catch(() => null),
      loadPublished().then(versions.load), // the left side shows what is live now
    ]);
    replace(conflict, h('div', { class: 'notice warn', role: 'alert', id: 'conflict-notice' },
      h('strong', {}, 'Not published: the ruleset changed while you were editing. '),
      `Your edit started from v${problem.base_version}; v${theirs} was published by ${other.author} ` +
      `at ${stamp(other.published_at)}${other.comment ? ` (“${other.comment}”)` : ''}.`,
      h('h3', {}, `Their changes (v${problem.base_version} → v${theirs})`),
      diff ? diffView(diff.unified, 'their changes') : h('pre', {}, other.yaml),
      h('div', { class: 'row' },
        button(`Keep my text, base it on v${theirs}`, () => {
          base = theirs;
          draftMeta.textContent = `Editing on top of v${theirs} (rebased by you).`;
          replace(conflict);
        }, { edit: true }),
        button(`Discard my text, load v${theirs}`, () => {
          draft.value = other.yaml;
          base = theirs;
          replace(conflict);
        }, { edit: true }))));
    say(`Publish refused: version ${theirs} was published meanwhile.`);
  }

  async function loadPublished() {
    const res = await api.call('GET', '/rules');
    published = res.data;
    live.value = published.yaml;
    liveTitle.textContent = `Published v${published.version}`;
    liveMeta.textContent = `by ${published.author} at ${stamp(published.published_at)}` +
      (published.comment ? ` — “${published.comment}”` : '');
  }

  async function loadDraft() {
    if (canEdit) {
      try {
        const saved = await api.get('/rules/draft');
        draft.value = saved.yaml;
        base = saved.base_version ?? published.version;
        draftMeta.textContent = `Saved draft by ${saved.author} at ${stamp(saved.saved_at)}, based on v${base}.`;
        return;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    }
    resetToPublished();
  }

  function resetToPublished() {
    draft.value = published.yaml;
    base = published.version;
    draftMeta.textContent = `Editing a copy of v${base} (not saved).`;
    replace(findings);
  }

  async function reload() {
    await loadPublished();
    base = published.version;
    draftMeta.textContent = `Editing on top of v${base}.`;
    await versions.load();
  }

  replace(panel,
    h('div', { class: 'grid2 rules' },
      h('section', { class: 'panel', 'aria-labelledby': 'published-title' }, liveTitle, liveMeta, live.root),
      h('section', { class: 'panel', 'aria-labelledby': 'draft-title' },
        h('h2', { id: 'draft-title' }, canEdit ? 'Draft' : 'Draft (viewer: validate only)'),
        draftMeta, draft.root,
        h('div', { class: 'row actions' },
          button('Validate', validate, { primary: true, id: 'validate' }),
          button('Save draft', saveDraft, { edit: true, id: 'save-draft' }),
          button('Reset to published', resetToPublished, { id: 'reset-draft' })),
        h('div', { class: 'row actions' },
          h('label', { for: 'publish-comment' }, 'Publish comment', comment),
          button('Publish', publish, { edit: true, primary: true, id: 'publish' })),
        findings, conflict)),
    dryRunPanel(ctx, () => draft.value),
    versions.root);

  const ready = loadPublished().then(loadDraft).then(versions.load)
    .catch((err) => replace(findings, h('p', { class: 'notice bad' }, describe(err))));
  return { shown: () => ready };
}
