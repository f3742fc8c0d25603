// WAI-ARIA tabs: click or arrow keys move between sections; only the selected tab is
// in the tab order, so Tab goes from the tab strip straight into the open panel.

export function setupTabs(list, onShow = () => {}) {
  const tabs = [...list.querySelectorAll('[role="tab"]')];

  function select(tab) {
    for (const other of tabs) {
      const chosen = other === tab;
      other.setAttribute('aria-selected', String(chosen));
      other.tabIndex = chosen ? 0 : -1;
      document.getElementById(other.getAttribute('aria-controls')).hidden = !chosen;
    }
    onShow(tab.id.replace(/^tab-/, ''));
  }

  list.addEventListener('click', (event) => {
    const tab = event.target.closest('[role="tab"]');
    if (tab) select(tab);
  });
  list.addEventListener('keydown', (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const at = tabs.indexOf(document.activeElement);
    const next = tabs[(at + step + tabs.length) % tabs.length];
    next.focus();
    select(next);
  });
  return { select: (name) => select(document.getElementById(`tab-${name}`)) };
}
