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
    if (!r.ok) throw new ApiError(r.status, (data && data.detail) || data || r.statusText);
    return data;
  };
}

function wsUrl(path, token) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}?token=${encodeURIComponent(token)}`;
}

/**
 * A websocket that reconnects with backoff (1 s doubling to 15 s) unless the server refused the token
 * (close code 4401/4403). onMessage(msg, tRecv) gets each parsed JSON frame and its receipt time
 * (performance.now(), taken before parsing: the map benchmark measures from here).
 */
export class Feed {
  constructor(path, token, { onMessage, onStatus = () => {}, onOpen = () => {} }) {
    this.path = path;
    this.token = token;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    this.ws = null;
    this.backoff = 1000;
    this.closed = false;
    this.timer = null;
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
    if (this.ws) this.ws.close();
  }
}
