// Parses live-feed frames off the main thread (a module worker): JSON text in, the message out with the
// track columns as typed arrays whose buffers are transferred (not copied): the numbers as Float64Array /
// Uint8Array, and status and source as Uint8Array codes (indexes into STATUS / SOURCES), so the main thread
// neither clones ten thousand short strings per frame nor looks them up. One reply per frame, in order
// (null for a frame that is not JSON).

import { codeColumns } from "./state.js";

self.onmessage = (ev) => {
  let msg;
  try {
    msg = JSON.parse(ev.data);
  } catch {
    self.postMessage(null);
    return;
  }
  const cols = msg && msg.tracks;
  const transfer = cols && Array.isArray(cols.ids) ? codeColumns(cols) : [];
  self.postMessage(msg, transfer);
};
