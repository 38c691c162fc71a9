// A few lines of DOM building. Audit data only ever becomes text nodes or property values
// (textContent, title, value): never markup. There is no innerHTML in the page. Every text set here
// goes through `show`: characters that do not display as themselves (control and format characters,
// bidi overrides…) are written visibly, as in every format a person reads (src/render/sanitize.ts).
import { visible } from '../../render/sanitize.js';

/** Text for a person: as `visible` in src/render/sanitize.ts, keeping tab and line feed (as kaudit's HTML does). */
export function show(s: string): string {
  return visible(s, '\t\n');
}

type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  id?: string;
  text?: string;
  title?: string;
  /** Attributes: ARIA, role, type, tabindex and the like (values are set, never parsed). */
  attrs?: Record<string, string>;
  on?: Partial<Record<keyof HTMLElementEventMap, (e: any) => void>>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.id) el.id = props.id;
  if (props.title !== undefined) el.title = show(props.title);
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) el.setAttribute(k, v);
  if (props.on) for (const [k, f] of Object.entries(props.on)) if (f) el.addEventListener(k, f as EventListener);
  if (props.text !== undefined) el.textContent = show(props.text);
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(show(String(c))) : c);
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}
