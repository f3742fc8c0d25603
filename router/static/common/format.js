// Number and time formatting shared by both pages.

export function pct(value) {
  return value === null || value === undefined ? '—' : `${Math.round(value * 100)}%`;
}

export function secs(value) {
  if (value === null || value === undefined) return '—';
  if (value < 60) return `${Math.round(value)} s`;
  // Whole minutes and hours read as "1 m", "4 h", not "1 m 0 s".
  const [big, unit, small, smallUnit] = value < 3600
    ? [Math.floor(value / 60), 'm', Math.round(value % 60), 's']
    : [Math.floor(value / 3600), 'h', Math.round((value % 3600) / 60), 'm'];
  return small ? `${big} ${unit} ${small} ${smallUnit}` : `${big} ${unit}`;
}

export function clock(epochSeconds) {
  return epochSeconds ? new Date(epochSeconds * 1000).toLocaleTimeString() : '—';
}

export function stamp(epochSeconds) {
  return epochSeconds ? new Date(epochSeconds * 1000).toLocaleString() : '—';
}
