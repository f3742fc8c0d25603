// The one place that speaks HTTP to omniroute. Every call carries the user's own
// bearer token, so a page can never do more than that token could with curl, and
// every failure becomes an ApiError holding the RFC 9457 problem the server sent.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  // Answers {status, data, headers}; data is null for 204 (e.g. `next` timed out).
  async call(method, path, { json, yaml, headers = {}, signal } = {}) {
    const init = { method, headers: this.headers(headers), signal, cache: 'no-store' };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers['Content-Type'] = 'application/json';
    } else if (yaml !== undefined) {
      init.body = yaml;
      init.headers['Content-Type'] = 'application/yaml';
    }
    const res = await fetch(path, init);
    if (res.status === 204) return { status: 204, data: null, headers: res.headers };
    const type = res.headers.get('content-type') || '';
    const data = type.includes('json') ? await res.json() : await res.text();
    if (!res.ok) {
      throw new ApiError(res.status, typeof data === 'object' ? data : { detail: data });
    }
    return { status: res.status, data, headers: res.headers };
  }

  async get(path, opts) {
    return (await this.call('GET', path, opts)).data;
  }

  async post(path, json, opts = {}) {
    return (await this.call('POST', path, { ...opts, json })).data;
  }

  async put(path, json, opts = {}) {
    return (await this.call('PUT', path, { ...opts, json })).data;
  }
}

// A short human sentence for an error, whatever threw it.
export function describe(err) {
  if (err instanceof ApiError) return `${err.status} ${err.problem.title || ''}: ${err.message}`;
  return String(err && err.message ? err.message : err);
}
