/** Small DOM helpers: text only (never HTML from the server), real buttons for keyboards and readers. */

export function el(tag: string, attrs: { [k: string]: string } = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, v);
  }
  for (const child of children) {
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

export function button(label: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = el('button', { type: 'button', class: `jp-Button jp-mod-styled jp-Cartable-button ${cls}`.trim() }, label);
  b.addEventListener('click', onClick);
  return b as HTMLButtonElement;
}
