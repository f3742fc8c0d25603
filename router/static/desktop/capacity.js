// Capacity in use per channel as labelled meters, e.g. "chat 1 of 3".

import { h, replace } from '/static/common/dom.js';

export function renderCapacity(box, agent) {
  replace(box, Object.entries(agent.capacity).map(([channel, limit]) => {
    const used = agent.active[channel] || 0;
    const id = `cap-${channel}`;
    return h('div', { class: 'cap', 'data-channel': channel },
      h('label', { for: id, class: 'inline' }, channel),
      h('meter', { id, min: 0, max: limit, value: used, 'aria-valuetext': `${used} of ${limit}` }),
      h('span', { class: 'num' }, `${used} / ${limit}`));
  }));
}
