/**
 * Headless Chromium (Debian's `chromium` package) driven over the Chrome DevTools Protocol
 * (https://chromedevtools.github.io/devtools-protocol/) with the `ws` client the project already
 * has: open a page, evaluate an expression in it, close. Enough for browser tests of what only a
 * browser enforces (CORS, the Origin of websocket upgrades); nothing is mocked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { waitFor } from './waitFor';

/** Where Debian installs Chromium; `WAVEGATE_TEST_CHROMIUM` overrides it. */
export const CHROMIUM_PATH = process.env['WAVEGATE_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Headless without the sandbox (CI runs as root), and without the background connections that
 * this machine's closed network refuses (update checks, sync, field trials).
 */
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-breakpad', '--mute-audio',
  '--remote-debugging-port=0',
];

/** A page open in the browser. */
export interface BrowserPage {
  /** Evaluates `expression` in the page, awaiting it if it is a promise; its JSON value, or the page's exception as an Error. */
  evaluate<T>(expression: string): Promise<T>;
}

/** A running Chromium. */
export interface Browser {
  /** Opens `url` in a new tab and resolves once its load event fired. */
  open(url: string): Promise<BrowserPage>;
  /** Ends the browser process and removes its profile. Idempotent. */
  close(): Promise<void>;
}

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** One DevTools connection: commands by id, events to listeners, sessions flattened (sessionId on each message). */
class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(m: CdpMessage) => void>();

  constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8')) as CdpMessage;
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(`CDP: ${m.error.message}`));
        else p?.resolve(m.result ?? {});
        return;
      }
      for (const l of this.listeners) l(m);
    });
    socket.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('CDP connection closed'));
      this.pending.clear();
    });
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) }));
    });
  }

  /** Resolves with the params of the first `method` event of `sessionId` from now on. */
  once(method: string, sessionId: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const l = (m: CdpMessage) => {
        if (m.method !== method || m.sessionId !== sessionId) return;
        this.listeners.delete(l);
        resolve(m.params ?? {});
      };
      this.listeners.add(l);
    });
  }

  close(): void {
    this.socket.close();
  }
}

async function connect(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts Chromium with a fresh profile. Fails (never skips) when Chromium is not installed, saying
 * how to install it: the browser tests are part of the suite.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium; .ci/run does) or set WAVEGATE_TEST_CHROMIUM to its path`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'wavegate-chromium-'));
  // Its own process group, so close() ends Chromium's helper processes with it.
  const child = spawn(CHROMIUM_PATH, [...FLAGS, `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4_000);
  });
  let cdp: Cdp | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      cdp?.close();
      const done = exited(child);
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // The group is gone already.
      }
      await done;
      // A helper process may still be writing into the profile for a moment after the browser exits.
      await rm(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    })();
    return closing;
  };
  try {
    // Chromium writes the port and the browser target's path here once DevTools listens.
    const endpoint = await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`chromium exited with ${child.exitCode}: ${stderr}`);
      const [port = '', path = ''] = (await readFile(join(profile, 'DevToolsActivePort'), 'utf8')).split('\n');
      if (port === '' || path === '') throw new Error('DevToolsActivePort is not written yet');
      return `ws://127.0.0.1:${port}${path}`;
    }, 60_000, 50);
    cdp = new Cdp(await connect(endpoint));
  } catch (err) {
    await close();
    throw err;
  }
  const browser = cdp;
  return {
    async open(url) {
      const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await browser.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
      await browser.send('Page.enable', {}, sessionId);
      const loaded = browser.once('Page.loadEventFired', sessionId);
      const nav = await browser.send('Page.navigate', { url }, sessionId);
      if (typeof nav['errorText'] === 'string') throw new Error(`navigating to ${url} failed: ${nav['errorText']}`);
      await loaded;
      return {
        async evaluate<T>(expression: string): Promise<T> {
          const r = await browser.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId) as {
            result: { value?: unknown };
            exceptionDetails?: { text: string; exception?: { description?: string } };
          };
          if (r.exceptionDetails !== undefined) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
          return r.result.value as T;
        },
      };
    },
    close,
  };
}
