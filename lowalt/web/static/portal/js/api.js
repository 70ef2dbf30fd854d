// Talking to lowalt: REST with "Authorization: Bearer", /ws/plans with the token as a websocket
// subprotocol (never in the URL). The token lives in sessionStorage only (gone when the tab closes).

import { t } from "./i18n.js";

export const TOKEN_KEY = "lowalt.portal.token";

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || (typeof body === "string" ? body : `HTTP ${status}`));
    this.status = status;
    this.code = err.code;
    this.messageZh = err.message_zh;
    this.fields = err.fields || [];
    this.reasons = err.reasons || [];
  }

  /** What to tell the user, in the current language. */
  describe(lang) {
    const detail = lang === "en" ? this.message : this.messageZh || this.message;
    if (this.status === 0) return t("err.network");
    if ([401, 403, 503].includes(this.status)) return t(`err.${this.status}`);
    if (this.status === 409 || this.status === 422) return t(`err.${this.status}`, { m: detail });
    return t("err.generic", { m: detail });
  }
}

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (v) => (v ? sessionStorage.setItem(TOKEN_KEY, v) : sessionStorage.removeItem(TOKEN_KEY));

/** One REST call; resolves to the parsed JSON body, or throws ApiError. */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const h = { Authorization: `Bearer ${getToken()}`, ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, null);
  }
  const json = (r.headers.get("content-type") || "").includes("json");
  const data = json ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export const qs = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : "";
};

/**
 * /ws/plans: the organisation's plan events. Reconnects with backoff (1 s doubling to 15 s) unless
 * the server refused the token (4401/4403). onEvent(event) gets every frame but "subscribed".
 */
export class PlanEvents {
  constructor(onEvent, onStatus = () => {}) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.backoff = 1000;
    this.closed = false;
    this.ws = null;
    this.connected = false;
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = (this.ws = new WebSocket(`${proto}//${location.host}/ws/plans`, ["lowalt", `lowalt.token.${getToken()}`]));
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === "subscribed") {
        this.connected = true;
        this.backoff = 1000;
        this.onStatus("live");
      } else if (msg.type !== "error") {
        this.onEvent(msg);
      }
    };
    ws.onclose = (ev) => {
      this.connected = false;
      if (this.closed || ev.code === 4401 || ev.code === 4403) return this.onStatus("off");
      this.onStatus("down");
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 15000);
    };
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}
