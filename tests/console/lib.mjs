// Helpers for the console's browser tests: the real server and the recording sink as child
// processes (stopped by PID), raw JSON calls to the events and queue APIs (unsigned, as loopback
// dev mode allows), and the system chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const bin = process.env.BRIDGEPORT_BIN || path.join(repo, 'BUILD', 'bridgeport');
export const screenshots = process.env.BRIDGEPORT_SCREENSHOTS || path.join(repo, 'BUILD', 'console-screenshots');
export const chromiumPath = process.env.BRIDGEPORT_CHROMIUM || '/usr/bin/chromium';

const children = new Set();
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch {} } });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, fn, timeoutMs = 30000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try { last = await fn(); if (last) return last; } catch (err) { last = err; }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// Spawns `cmd`, resolves with the first stdout line matching `re` (bounded by timeoutMs).
function spawnWithLine(cmd, args, re, timeoutMs = 20000) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} did not start: ${err}`)); }, timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(re);
      if (m) { clearTimeout(timer); resolve({ child, match: m, stderr: () => err }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${cmd} exited ${code}: ${err}`)); });
  });
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(t);
}

export class Server {
  static async start({ listen = '127.0.0.1:0', args = [], dataDir } = {}) {
    const s = new Server();
    s.ownsDir = !dataDir;
    s.dataDir = dataDir || mkdtempSync(path.join(tmpdir(), 'bp-console-'));
    s.listen = listen;
    s.args = args;
    await s.launch();
    return s;
  }
  async launch() {
    const { child, match } = await spawnWithLine(bin,
      ['serve', '--listen', this.listen, '--data-dir', this.dataDir, ...this.args],
      /bridgeport listening on (\S+):(\d+)/);
    this.child = child;
    this.port = Number(match[2]);
    this.base = `http://127.0.0.1:${this.port}`;
    await waitFor('server ready', async () => (await fetch(this.base + '/ready')).ok, 20000);
  }
  async restart() {
    await stopChild(this.child);
    this.listen = `127.0.0.1:${this.port}`;
    await this.launch();
  }
  async close() {
    if (this.child) await stopChild(this.child);
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
  async events(op, body) { return this.awsJson('AWSEvents.' + op, 'application/x-amz-json-1.1', body); }
  async sqs(op, body) { return this.awsJson('AmazonSQS.' + op, 'application/x-amz-json-1.0', body); }
  async awsJson(target, type, body) {
    const res = await fetch(this.base + '/', { method: 'POST', headers: { 'X-Amz-Target': target, 'Content-Type': type }, body: JSON.stringify(body) });
    const data = await res.json();
    if (!res.ok) throw new Error(`${target}: ${JSON.stringify(data)}`);
    return data;
  }
  async admin(method, p, body, headers = {}) {
    const res = await fetch(this.base + '/_bridgeport/v1' + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
  // Puts `n` events (10 per call) and returns their ids.
  async putEvents(n, source, detail = (i) => ({ n: i })) {
    const ids = [];
    for (let i = 0; i < n; i += 10) {
      const entries = [];
      for (let j = i; j < Math.min(n, i + 10); j++) entries.push({ Source: source, DetailType: 'test', Detail: JSON.stringify(detail(j)) });
      const r = await this.events('PutEvents', { Entries: entries });
      if (r.FailedEntryCount) throw new Error('PutEvents failed: ' + JSON.stringify(r));
      ids.push(...r.Entries.map((e) => e.EventId));
    }
    return ids;
  }
  // An API_KEY connection, an API destination to `url` and a rule on the default bus matching
  // `source`, with optional target settings (RetryPolicy, DeadLetterConfig).
  async route({ name, url, source, limit = 300, target = {} }) {
    const conn = await this.events('CreateConnection', { Name: name + '-conn', AuthorizationType: 'API_KEY',
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'secret-' + name } } });
    const dest = await this.events('CreateApiDestination', { Name: name, ConnectionArn: conn.ConnectionArn,
      InvocationEndpoint: url, HttpMethod: 'POST', InvocationRateLimitPerSecond: limit });
    const rule = await this.events('PutRule', { Name: name + '-rule', EventPattern: JSON.stringify({ source: [source] }) });
    await this.events('PutTargets', { Rule: name + '-rule', Targets: [{ Id: 't1', Arn: dest.ApiDestinationArn, ...target }] });
    return { conn, dest, rule };
  }
}

export class Sink {
  static async start() {
    const { child, match } = await spawnWithLine('python3', [path.join(repo, 'tests', 'integration', 'fakes', 'sink.py'), '--port', '0'], /PORT=(\d+)/);
    const s = new Sink();
    s.child = child;
    s.url = `http://127.0.0.1:${match[1]}`;
    return s;
  }
  async control(p, body) {
    const res = await fetch(this.url + '/_control/' + p, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    return res.json();
  }
  requests() { return this.control('requests'); }
  setDefault(resp) { return this.control('default', resp); }
  reset() { return this.control('reset', {}); }
  close() { return stopChild(this.child); }
}

// Headless Debian chromium with a fresh profile; returns { context, page, close }.
export async function browser() {
  const profile = mkdtempSync(path.join(tmpdir(), 'bp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, viewport: { width: 1360, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    context, page, errors,
    async shot(name, fullPage = false) {
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: path.join(screenshots, name + '.png'), fullPage });
    },
    async close() { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}
