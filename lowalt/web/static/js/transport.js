// Talking to the server: REST with the bearer token, and websockets (token in ?token=) that reconnect.

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

export function makeApi(getToken) {
  return async function api(path, { method = "GET", body } = {}) {
    const headers = { Authorization: `Bearer ${getToken()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    // lowalt's error body is {"error": {message, message_zh?}}: the message in the page's language
    const err = data && data.error;
    const msg = err && ((document.documentElement.lang || "zh").startsWith("zh") && err.message_zh || err.message);
    if (!r.ok) throw new ApiError(r.status, msg || (data && data.detail) || data || r.statusText);
    return data;
  };
}

/** Frames at least this long are parsed in the worker (about 2,000 track rows). */
export const WORKER_MIN_CHARS = 200000;

function wsUrl(path, token) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}?token=${encodeURIComponent(token)}`;
}

/**
 * A websocket that reconnects with backoff (1 s doubling to 15 s) unless the server refused the token
 * (close code 4401/4403). onMessage(msg, tRecv) gets each parsed JSON frame and its receipt time
 * (performance.now(), taken before parsing: the map benchmark measures from here). With parseInWorker the
 * big frames are parsed in a Web Worker (feed-worker.js: numeric columns come back as transferred typed arrays),
 * in order; the main thread only applies them.
 */
export class Feed {
  constructor(path, token, { onMessage, onStatus = () => {}, onOpen = () => {}, parseInWorker = false,
    workerMinChars = WORKER_MIN_CHARS }) {
    this.path = path;
    this.token = token;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    this.ws = null;
    this.backoff = 1000;
    this.closed = false;
    this.timer = null;
    this.worker = null;
    this.pending = []; // [tRecv, bytes] of frames handed to the worker, in order
    this.workerMinChars = workerMinChars;
    this.workerFrames = 0;
    if (parseInWorker && typeof Worker !== "undefined") {
      try {
        this.worker = new Worker("/static/js/feed-worker.js", { type: "module" });
        this.worker.onmessage = (ev) => {
          const [tRecv, bytes] = this.pending.shift() || [performance.now(), 0];
          if (ev.data !== null) this.onMessage(ev.data, tRecv, bytes);
        };
      } catch {
        this.worker = null; // parse on the main thread
      }
    }
  }

  connect() {
    this.onStatus("connecting");
    const ws = (this.ws = new WebSocket(wsUrl(this.path, this.token)));
    ws.onopen = () => {
      this.backoff = 1000;
      this.onStatus("live");
      this.onOpen();
    };
    ws.onmessage = (ev) => {
      const tRecv = performance.now();
      // big frames (thousands of rows) go to the worker; small ones are cheaper parsed here than the extra
      // hop back to the main thread; once one is in the worker, the next ones follow it (order kept)
      if (this.worker && (this.pending.length || ev.data.length >= this.workerMinChars)) {
        this.workerFrames++;
        this.pending.push([tRecv, ev.data.length]);
        this.worker.postMessage(ev.data);
        return;
      }
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.onMessage(msg, tRecv, ev.data.length);
    };
    ws.onclose = (ev) => {
      if (this.closed) return;
      if (ev.code === 4401 || ev.code === 4403) {
        this.onStatus("unauthorized");
        return;
      }
      this.onStatus("down");
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 15000);
    };
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.worker) this.worker.terminate();
    if (this.ws) this.ws.close();
  }
}
