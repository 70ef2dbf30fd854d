// Small DOM helpers shared by the panels (text only: nothing from the server is parsed as HTML).

export const $ = (id) => document.getElementById(id);

/** An element with a class and text content. */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Empty a list and, when there is nothing to show, say so; returns whether items follow. */
export function resetList(ul, items, emptyText) {
  ul.textContent = "";
  if (!items.length) ul.append(el("li", "empty", emptyText));
  return items.length > 0;
}
