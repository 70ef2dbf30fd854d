// Small DOM helpers shared by the panels.

import { currentLang } from "./i18n.js";

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** Set text only when it changed (no layout work, no flicker, selection kept). */
export function setText(node, text) {
  const s = String(text);
  if (node.textContent !== s) node.textContent = s;
}

// Intl formatters are costly to build (toLocaleString builds one per call: a hot spot with many alert rows)
const FORMATS = new Map();
function formatter(kind, lang) {
  const key = `${kind}|${lang}`;
  let f = FORMATS.get(key);
  if (!f) {
    const opts = kind === "time"
      ? { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" }
      : { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: "Asia/Shanghai", hour12: false };
    f = new Intl.DateTimeFormat(lang, opts);
    FORMATS.set(key, f);
  }
  return f;
}

export function fmtTime(iso) {
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return formatter("time", currentLang() === "en" ? "en-GB" : "zh-CN").format(d);
}

export function fmtClock(epochS) {
  return formatter("clock", currentLang() === "en" ? "en-GB" : "zh-CN").format(new Date(epochS * 1000));
}

/** "1:05:09" / "4:07" from seconds (negative: "-0:12"). */
export function fmtDuration(s) {
  const neg = s < 0;
  let x = Math.floor(Math.abs(s));
  const h = Math.floor(x / 3600);
  x -= h * 3600;
  const m = Math.floor(x / 60);
  const sec = x - m * 60;
  const body = h ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
  return neg ? `-${body}` : body;
}

/**
 * Keep ``parent``'s children in the order of ``nodes`` with the fewest moves: a node already in place is
 * not touched (its focus, text selection and hover state survive).
 */
export function reorder(parent, nodes) {
  let cur = parent.firstChild;
  for (const n of nodes) {
    if (n === cur) {
      cur = cur.nextSibling;
      continue;
    }
    parent.insertBefore(n, cur);
  }
  while (cur) {
    const next = cur.nextSibling;
    parent.removeChild(cur);
    cur = next;
  }
}
