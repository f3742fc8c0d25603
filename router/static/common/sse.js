// Server-sent events read with fetch. EventSource cannot send an Authorization header,
// and a token in the URL would end up in proxy and access logs, so the stream is read
// as text/event-stream by hand. Reconnects with backoff; gives up on 401/403, since
// retrying a refused token only fills the server's log.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function openStream(api, path, { onEvent, onState = () => {} }) {
  const controller = new AbortController();
  let backoff = 1000;

  async function run() {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch(path, {
          headers: api.headers({ Accept: 'text/event-stream' }),
          signal: controller.signal,
          cache: 'no-store',
        });
        if (res.status === 401 || res.status === 403) {
          onState('refused', res.status);
          return;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        onState('open');
        backoff = 1000;
        await readEvents(res.body, onEvent);
      } catch (err) {
        if (controller.signal.aborted) return;
      }
      onState('reconnecting');
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 15000);
    }
  }

  run();
  return { close: () => controller.abort() };
}

// Parses the event-stream framing: `field: value` lines, a blank line ends an event,
// `:` lines are comments (keep-alive pings). Lines may end in CRLF, CR or LF.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (;;) {
      const at = buffer.search(/[\r\n]/);
      // A lone CR at the end may be the first half of a CRLF split across chunks.
      if (at < 0 || (buffer[at] === '\r' && at === buffer.length - 1)) break;
      const line = buffer.slice(0, at);
      buffer = buffer.slice(buffer.startsWith('\r\n', at) ? at + 2 : at + 1);
      if (line === '') {
        if (data.length) dispatch(onEvent, type || 'message', data.join('\n'));
        type = '';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = text;
        else if (field === 'data') data.push(text);
      }
    }
  }
}

function dispatch(onEvent, type, raw) {
  if (type === 'ping') return;
  let data = raw;
  try {
    data = JSON.parse(raw);
  } catch {
    // not JSON: hand over the text as it is
  }
  onEvent(type, data);
}
