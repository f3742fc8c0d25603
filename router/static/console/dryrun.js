// Dry-run: classify a made-up interaction and show the matched rule, its plan, and why
// each earlier rule did not match. Nothing is routed. "Editor text" first saves the
// editor as the draft (dry-run accepts a stored draft, not raw YAML), so it needs a
// supervisor; a viewer classifies against the published version.

import { describe } from '/static/common/api.js';
import { h, replace, table } from '/static/common/dom.js';

const CHANNELS = ['chat', 'voice', 'email', 'sms', 'social'];

function field(label, control) {
  return h('label', {}, label, control);
}

function planTable(plan) {
  const skills = Object.entries(plan.skills).map(([s, p]) => `${s} ≥ ${p}`).join(', ') || 'none';
  const steps = plan.steps.map((s) => `after ${s.after} s: ` + [
    s.lower_proficiency_by ? `lower proficiency by ${s.lower_proficiency_by}` : '',
    s.drop_skills.length ? `drop ${s.drop_skills.join(', ')}` : '',
    s.add_queues.length ? `add ${s.add_queues.join(', ')}` : '',
    s.raise_priority_by ? `raise priority by ${s.raise_priority_by}` : '',
  ].filter(Boolean).join('; ')).join(' · ') || 'none';
  const rows = [['queue', plan.queue], ['priority', plan.priority], ['skills', skills],
    ['SLA class', plan.sla_class || 'default'], ['escalation steps', steps],
    ['preferred agent', plan.preferred_agent || '—'],
    ['max wait', plan.max_wait ? `${plan.max_wait} s then ${plan.max_wait_action}` : '—'],
    ['tags', plan.tags.join(', ') || '—']];
  return h('table', { class: 'plan' }, h('caption', {}, 'Routing plan'),
    h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v)))));
}

export function dryRunPanel({ api, canEdit }, editorText) {
  const channel = h('select', { name: 'channel' }, CHANNELS.map((c) => h('option', { value: c }, c)));
  const customer = h('input', { name: 'customer_id', placeholder: 'c-ana-lopez' });
  const address = h('input', { name: 'address', placeholder: 'ana.lopez@example.com' });
  const language = h('input', { name: 'language', size: 4, placeholder: 'en' });
  const intent = h('input', { name: 'intent', size: 10, placeholder: 'billing' });
  const sentiment = h('input', { name: 'sentiment', type: 'number', min: -1, max: 1, step: 0.1,
    size: 4 });
  const reach = h('input', { name: 'reach', type: 'number', min: 0, step: 1, size: 7 });
  const isPublic = h('input', { name: 'public', type: 'checkbox' });
  const text = h('textarea', { name: 'summary', rows: 2, cols: 50 });
  // Profile overrides: classify as if the directory said this (nothing is stored).
  const tier = h('select', { name: 'override_tier' }, h('option', { value: '' }, 'from profile'),
    ['standard', 'gold', 'platinum'].map((t) => h('option', { value: t }, t)));
  const value = h('input', { name: 'override_value', type: 'number', min: 0, step: 100, size: 8,
    placeholder: 'profile' });
  const speaks = h('input', { name: 'override_language', size: 4, placeholder: 'profile' });
  const source = h('select', { name: 'source' },
    h('option', { value: 'draft', disabled: !canEdit }, 'editor text (saved as draft)'),
    h('option', { value: 'published', selected: !canEdit }, 'published version'));
  const result = h('div', { id: 'dryrun-result', 'aria-live': 'polite' });

  async function run(event) {
    event.preventDefault();
    const interaction = { channel: channel.value, idempotency_key: `console-dry-run-${Date.now()}`,
      summary: text.value, public: isPublic.checked };
    if (customer.value.trim()) interaction.customer_id = customer.value.trim();
    if (address.value.trim()) interaction.address = address.value.trim();
    if (language.value.trim()) interaction.language = language.value.trim();
    if (intent.value.trim()) interaction.intent = intent.value.trim();
    if (sentiment.value !== '') interaction.sentiment = Number(sentiment.value);
    if (reach.value !== '') interaction.reach = Number(reach.value);
    const body = { interaction };
    const overrides = {};
    if (tier.value) overrides.tier = tier.value;
    if (value.value !== '') overrides.lifetime_value = Number(value.value);
    if (speaks.value.trim()) overrides.language = speaks.value.trim();
    if (Object.keys(overrides).length) body.customer = overrides;
    try {
      if (source.value === 'draft') {
        await api.call('PUT', '/rules/draft', { yaml: editorText() });
        body.draft = true;
      }
      show(await api.post('/rules/dry-run', body));
    } catch (err) {
      replace(result, h('p', { class: 'notice bad', role: 'alert' }, `Dry-run failed: ${describe(err)}`));
    }
  }

  function show(out) {
    const trace = out.trace.map((t) => h('tr', { 'data-outcome': t.outcome },
      h('th', { scope: 'row' }, t.rule), h('td', {}, t.outcome), h('td', {}, t.detail)));
    replace(result,
      h('p', { class: 'notice ok', id: 'dryrun-match' }, 'Matched rule ', h('strong', {}, out.rule),
        ` (version ${out.version ?? 'draft'}; customer ${out.customer_id}`,
        out.customer ? `: ${out.customer.tier}, value ${out.customer.lifetime_value},`
          + ` speaks ${out.customer.language}` : '',
        Object.keys(out.customer_overrides || {}).length ? ' — overridden' : '', ').'),
      out.errors.length ? h('ul', { class: 'error-text' },
        out.errors.map((e) => h('li', {}, `${e.rule}: ${e.message}`))) : null,
      planTable(out.plan),
      table(['rule', 'outcome', 'why'], trace, 'Rules in order (why earlier rules did not match)'));
  }

  return h('form', { class: 'panel', id: 'dryrun-form', onsubmit: run, 'aria-labelledby': 'dryrun-title' },
    h('h2', { id: 'dryrun-title' }, 'Dry-run'),
    h('p', { class: 'muted' }, 'Customer tier, value and language come from the customer ' +
      'profile: give a customer id or an address the directory knows, or override them below.'),
    h('div', { class: 'row' }, field('Channel', channel), field('Customer id', customer),
      field('Address', address), field('Language', language), field('Intent', intent),
      field('Sentiment (−1…1)', sentiment), field('Reach', reach),
      h('label', { class: 'inline' }, isPublic, 'Public post')),
    h('fieldset', { class: 'row' }, h('legend', {}, 'Customer profile overrides'),
      field('Tier', tier), field('Lifetime value', value), field('Speaks', speaks)),
    h('div', { class: 'row' }, field('Customer message', text), field('Classify with', source),
      h('button', { type: 'submit' }, 'Dry-run')),
    result);
}
