// Parses live-feed frames off the main thread: JSON text in, the message out with the numeric track
// columns as typed arrays whose buffers are transferred (not copied). One reply per frame, in order
// (null for a frame that is not JSON).

const F64 = ["lon", "lat", "alt", "hdg", "gs", "vs", "tr"];
const U8 = ["co", "gnd"];

self.onmessage = (ev) => {
  let msg;
  try {
    msg = JSON.parse(ev.data);
  } catch {
    self.postMessage(null);
    return;
  }
  const transfer = [];
  const cols = msg && msg.tracks;
  if (cols && Array.isArray(cols.ids)) {
    for (const k of F64) {
      if (Array.isArray(cols[k])) {
        const a = Float64Array.from(cols[k]);
        cols[k] = a;
        transfer.push(a.buffer);
      }
    }
    for (const k of U8) {
      if (Array.isArray(cols[k])) {
        const a = Uint8Array.from(cols[k]);
        cols[k] = a;
        transfer.push(a.buffer);
      }
    }
  }
  self.postMessage(msg, transfer);
};
