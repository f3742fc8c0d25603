// Service level against target as a traffic light. Amber is "below target but within
// ten points", the usual wallboard convention; every colour comes with words.

export const AMBER_BAND = 0.1;

export function slStatus(level, target) {
  if (level === null || level === undefined) return { tone: 'none', text: 'no data' };
  if (level >= target) return { tone: 'ok', text: 'on target' };
  if (level >= target - AMBER_BAND) return { tone: 'warn', text: 'near target' };
  return { tone: 'bad', text: 'below target' };
}

// Offered-weighted service level over many team × channel figures (null if none).
export function overallLevel(serviceLevels, window = 'now') {
  let weight = 0;
  let sum = 0;
  for (const s of serviceLevels) {
    const level = window === 'now' ? s.service_level_now : s.service_level_interval;
    const offered = s[window].offered;
    if (level === null || !offered) continue;
    weight += offered;
    sum += level * offered;
  }
  return weight ? sum / weight : null;
}
