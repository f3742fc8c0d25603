// The board's history for the chart: samples taken by this page since it was opened
// (the API has no history endpoint), pruned to the last hour.

export const WINDOW_SECONDS = 3600;

export class History {
  constructor() {
    this.samples = [];
  }

  add(at, level, depth) {
    const last = this.samples[this.samples.length - 1];
    if (last && at - last.at < 1) this.samples.pop(); // one point per second is plenty
    this.samples.push({ at, level, depth });
    const horizon = at - WINDOW_SECONDS;
    while (this.samples.length && this.samples[0].at < horizon) this.samples.shift();
  }
}
