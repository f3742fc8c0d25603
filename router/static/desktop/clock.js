// Server time as seen from the browser. Offer deadlines are server epoch seconds; the
// browser's clock may be off, so every server timestamp we receive nudges an offset
// (server minus local). Network delay makes it err towards "less time left", which
// is the safe side for an offer countdown.

let offset = 0;
let known = false;

export function observe(serverEpochSeconds) {
  const local = Date.now() / 1000;
  const seen = serverEpochSeconds - local;
  offset = known ? Math.max(offset, seen) : seen;
  known = true;
}

export function serverNow() {
  return Date.now() / 1000 + offset;
}
