// The `audit view` page's entry point: reads the data the CLI embedded (gzip + base64, decoded with
// the browser's DecompressionStream) and starts the page (app.ts).
import { fromPayload, type ViewData, type ViewPayload } from '../analyses/view/payload.js';
import { App } from './app.js';
import { show } from './ui/dom.js';

async function loadData(): Promise<ViewData> {
  const node = document.getElementById('kaudit-data');
  if (!node) throw new Error('this page holds no data');
  if (typeof DecompressionStream === 'undefined') throw new Error('this browser cannot decompress the data (DecompressionStream): use a current Chromium, Firefox or Safari');
  const b64 = (node.textContent ?? '').trim();
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  const text = await new Response(stream).text();
  return fromPayload(JSON.parse(text) as ViewPayload);
}

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  const status = document.getElementById('loading');
  try {
    performance.mark('kaudit:load:start');
    const data = await loadData();
    performance.measure('kaudit:load:data', 'kaudit:load:start');
    performance.mark('kaudit:load:data');
    new App(root, data);
    performance.measure('kaudit:load:ui', 'kaudit:load:data');
    status?.remove();
    document.documentElement.dataset.state = 'ready';
  } catch (e) {
    if (status) status.textContent = show(`This page could not be shown: ${(e as Error).message}`);
    document.documentElement.dataset.state = 'error';
  }
}

void boot();
