// The web console in headless chromium against the real server with real deliveries to the
// recording sink (tests/integration/fakes/sink.py). Screenshots of every view go to
// $BRIDGEPORT_SCREENSHOTS (default BUILD/console-screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Sink, browser, waitFor } from './lib.mjs';

let server, sink, b;

before(async () => {
  sink = await Sink.start();
  server = await Server.start();
  b = await browser();
});

after(async () => {
  if (b) await b.close();
  if (server) await server.close();
  if (sink) await sink.close();
});

const text = (sel) => b.page.locator(sel).first().innerText();

test('overview shows a destination\'s start rate near its limit, live', async () => {
  const limit = 20;
  await server.route({ name: 'steady', url: sink.url + '/steady', source: 'load.test', limit });
  // 25 s of backlog at the limit.
  const ids = await server.putEvents(500, 'load.test');
  await b.page.goto(server.base + '/console/');
  const card = b.page.locator('article[data-destination="steady"]');
  await card.waitFor({ timeout: 15000 });
  // The 5 s average of starts per second climbs to the limit and stays at or under it.
  const rate = await waitFor('rate near the limit', async () => {
    const r = Number(await card.locator('[data-testid=rate]').innerText());
    return r >= 0.85 * limit ? r : null;
  }, 30000, 250);
  assert.ok(rate <= limit, `rate ${rate} exceeds the limit ${limit}`);
  assert.equal(await card.locator('[data-testid=limit]').innerText(), String(limit));
  const backlog = await card.locator('dd').first().innerText();
  assert.match(backlog, /ready: \d+/);
  // Updated at least every second: the displayed backlog changes between two reads 1.5 s apart.
  await new Promise((r) => setTimeout(r, 1500));
  assert.notEqual(await card.locator('dd').first().innerText(), backlog);
  // Per-destination latency percentiles: attempt p50/p90/p99 and ingestion-to-first-attempt
  // p50/p99, with numbers once attempts have finished.
  const attemptLat = card.locator('[data-testid=attempt-latency]');
  await waitFor('attempt percentiles', async () =>
    /p50 [\d.]+ ms/.test(await attemptLat.innerText()) ? true : null, 10000, 250);
  const lat = await attemptLat.innerText();
  assert.match(lat, /p50 [\d.]+ ms.*p90 [\d.]+ ms.*p99 [\d.]+ ms/s);
  const p = (re, s) => Number(re.exec(s)[1]);
  assert.ok(p(/p50 ([\d.]+) ms/, lat) <= p(/p99 ([\d.]+) ms/, lat), lat);
  const firstLat = await card.locator('[data-testid=first-attempt-latency]').innerText();
  assert.match(firstLat, /p50 [\d.]+ ms.*p99 [\d.]+ ms/s);
  assert.doesNotMatch(firstLat, /p90/);
  await b.shot('overview', true);

  // Destination view: settings, connection, delivery log with attempt details (secrets masked).
  await b.page.goto(server.base + '/console/#/destination/steady');
  const row = b.page.locator('[data-testid=delivery-row]').first();
  await row.waitFor({ timeout: 15000 });
  await row.click();
  const details = await b.page.locator('pre.details').first().innerText();
  assert.match(details, /"x-api-key": "\*\*\*"/);
  assert.doesNotMatch(await b.page.content(), /secret-steady/);
  // Edit a setting through the settings API and see it applied.
  await b.page.locator('input[name="timeout-ms"]').fill('2500');
  await b.page.getByRole('button', { name: 'Save settings' }).click();
  await waitFor('setting stored', async () => {
    const r = await server.events('ListTagsForResource', { ResourceARN: (await server.events('DescribeApiDestination', { Name: 'steady' })).ApiDestinationArn });
    return r.Tags.some((t) => t.Key === 'bridgeport:timeout-ms' && t.Value === '2500');
  });
  await b.shot('destination');

  // Event view: the event's deliveries across targets.
  await b.page.goto(server.base + '/console/#/event/' + ids[0]);
  await waitFor('event deliveries', async () => /1 attempt\(s\) in 1 delivery/.test(await text('[data-testid=event-summary]')));
  await b.shot('event');
  assert.deepEqual(b.errors, []);
});

test('deauthorize and re-authorize a connection from the destination view', async () => {
  await b.page.goto(server.base + '/console/#/destination/steady');
  b.page.once('dialog', (d) => d.accept());
  await b.page.getByRole('button', { name: 'Deauthorize' }).click();
  await waitFor('deauthorized', async () => (await server.events('DescribeConnection', { Name: 'steady-conn' })).ConnectionState === 'DEAUTHORIZED');
  await b.page.locator('input[name=ApiKeyName]').waitFor();
  await b.page.locator('input[name=ApiKeyName]').fill('x-api-key');
  await b.page.locator('input[name=ApiKeyValue]').fill('new-secret');
  await b.page.getByRole('button', { name: 'Re-authorize' }).click();
  await waitFor('authorized', async () => (await server.events('DescribeConnection', { Name: 'steady-conn' })).ConnectionState === 'AUTHORIZED');
});

test('a failing sink fills the DLQ; the browser filters it and redrives it at 5/s after recovery', async (tc) => {
  const q = await server.sqs('CreateQueue', { QueueName: 'console-dlq' });
  const dlqArn = (await server.sqs('GetQueueAttributes', { QueueUrl: q.QueueUrl, AttributeNames: ['QueueArn'] })).Attributes.QueueArn;
  const target = { RetryPolicy: { MaximumRetryAttempts: 0 }, DeadLetterConfig: { Arn: dlqArn } };
  await server.route({ name: 'flaky', url: sink.url + '/flaky', source: 'orders.test', limit: 50, target });
  // A second destination that can never connect: other dead letters (CONNECTION_FAILURE).
  await server.route({ name: 'nowhere', url: 'http://127.0.0.1:9/x', source: 'other.test', target });
  await sink.setDefault({ status: 500, body: 'down for maintenance' });
  const failed = await server.putEvents(12, 'orders.test');
  await server.putEvents(3, 'other.test');
  await waitFor('15 dead letters', async () => {
    const a = await server.sqs('GetQueueAttributes', { QueueUrl: q.QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] });
    return Number(a.Attributes.ApproximateNumberOfMessages) === 15;
  }, 60000, 200);

  await b.page.goto(server.base + '/console/#/dead-letters');
  await b.page.locator('[data-testid=dlq-matched]').waitFor();
  assert.match(await text('[data-testid=dlq-matched]'), /^15 matching/);
  await b.page.locator('input[name=destination]').fill('flaky');
  await b.page.locator('input[name=error_code]').fill('ERROR_FROM_TARGET');
  await b.page.getByRole('button', { name: 'Filter', exact: true }).click();
  await waitFor('filtered list', async () => /^12 matching/.test(await text('[data-testid=dlq-matched]')));
  assert.equal(await b.page.locator('[data-testid=dlq-row]').count(), 12);
  assert.match(await b.page.locator('[data-testid=dlq-row]').first().innerText(), /ERROR_FROM_TARGET/);
  await b.shot('dead-letters');

  // The sink recovers; redrive everything matching the filter at 5/s.
  await sink.reset();
  await b.page.locator('input[name=rate]').fill('5');
  await b.page.getByRole('button', { name: 'Redrive all matching the filter' }).click();
  await waitFor('redrive completed', async () => /COMPLETED/.test(await text('[data-testid=redrive-state]')), 30000, 200);
  const got = await waitFor('12 deliveries at the sink', async () => {
    const r = (await sink.requests()).filter((x) => x.path === '/flaky');
    return r.length >= 12 ? r : null;
  }, 20000, 200);
  await b.shot('dead-letters-redriven');
  // Every redriven event arrived exactly once.
  const ids = got.map((r) => JSON.parse(r.body).id).sort();
  assert.deepEqual(ids, [...failed].sort());
  // At that rate: tasks are created at least 200 ms apart, so 12 arrivals span about 2.2 s
  // and no six fall within one second, up to the delivery path's jitter (commit, dispatch,
  // HTTP; allowed: 100 ms on this shared machine).
  const t = got.map((r) => r.monotonic).sort((x, y) => x - y);
  const span = t[t.length - 1] - t[0];
  assert.ok(span >= 2.1 && span <= 4.0, `span ${span.toFixed(3)} s`);
  assert.ok((t.length - 1) / span <= 5.25, `average ${((t.length - 1) / span).toFixed(2)}/s`);
  const gaps = t.slice(1).map((x, i) => Math.round((x - t[i]) * 1000));
  tc.diagnostic(`redrive arrivals: span ${span.toFixed(3)} s, gaps (ms) ${gaps.join(' ')}`);
  for (let i = 0; i + 5 < t.length; i++) {
    assert.ok(t[i + 5] - t[i] >= 0.9, `6 arrivals within ${(t[i + 5] - t[i]).toFixed(3)} s`);
  }
  // The other three stay; the redriven ones left the DLQ.
  const left = await server.admin('GET', '/dead-letter-queues/console-dlq/messages');
  assert.equal(left.body.matched, 3);
  assert.ok(left.body.messages.every((m) => m.destination === 'nowhere'));

  // Progress and cancel: a slow redrive of the rest, cancelled from the browser.
  await b.page.locator('input[name=destination]').fill('nowhere');
  await b.page.locator('input[name=error_code]').fill('');
  await b.page.getByRole('button', { name: 'Filter', exact: true }).click();
  await waitFor('3 left', async () => /^3 matching/.test(await text('[data-testid=dlq-matched]')));
  await b.page.locator('input[name=rate]').fill('1');
  await b.page.getByRole('button', { name: 'Redrive all matching the filter' }).click();
  await b.page.getByRole('button', { name: 'Cancel' }).click();
  await waitFor('cancelled', async () => /CANCELLED/.test(await text('[data-testid=redrive-state]')), 10000, 100);
  const r = (await server.admin('GET', '/redrives')).body.redrives[0];
  assert.equal(r.state, 'CANCELLED');
  assert.ok(r.redriven < 3, `cancelled redrive moved ${r.redriven}`);
  assert.deepEqual(b.errors, []);
});

test('the pattern tester answers with TestEventPattern and the bus\'s matching rules', async () => {
  await server.events('PutRule', { Name: 'big-orders', EventPattern: JSON.stringify({ source: ['shop.orders'], detail: { total: [{ numeric: ['>', 100] }] } }) });
  await server.events('PutRule', { Name: 'png-files', EventPattern: JSON.stringify({ detail: { object: { key: [{ suffix: '.png' }] } } }) });
  await b.page.goto(server.base + '/console/#/pattern');
  await b.page.locator('[data-testid=test-pattern]').click();
  await waitFor('result', async () => /MATCH/.test(await text('[data-testid=pattern-result]')));
  const result = await text('[data-testid=pattern-result]');
  assert.match(result, /TestEventPattern: MATCH/);
  assert.match(await text('[data-testid=matching-rules]'), /big-orders/);
  assert.doesNotMatch(await text('[data-testid=matching-rules]'), /png-files/);
  await b.shot('pattern-tester');
  // A pattern that does not match, and one that is invalid.
  await b.page.locator('textarea[name=pattern]').fill('{"source":["elsewhere"]}');
  await b.page.locator('[data-testid=test-pattern]').click();
  await waitFor('no match', async () => /NO MATCH/.test(await text('[data-testid=pattern-result]')));
  await b.page.locator('textarea[name=pattern]').fill('{"source":"not-a-list"}');
  await b.page.locator('[data-testid=test-pattern]').click();
  await waitFor('invalid', async () => /Event pattern is not valid/.test(await text('[data-testid=pattern-result]')));
});

test('a non-loopback server refuses the console without its token', async () => {
  const remote = await Server.start({ listen: '0.0.0.0:0', args: ['--admin-token', 'console-test-token'] });
  try {
    const page = b.page;
    await page.goto(remote.base + '/console/');
    await page.locator('#login-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#view').innerText(), '');
    const status = await page.evaluate(async () => (await fetch('/_bridgeport/v1/overview')).status);
    assert.equal(status, 401);
    await b.shot('login');
    await page.locator('#token').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitFor('rejected', async () => /not accepted/.test(await page.locator('#login-error').innerText()));
    await page.locator('#token').fill('console-test-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API destinations' }).waitFor();
    assert.equal(await page.locator('#login').isHidden(), true);
    // The token is kept for the tab only and sent as a header, never in a URL.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('bridgeport-admin-token')), 'console-test-token');
    await page.evaluate(() => sessionStorage.clear());
  } finally {
    await remote.close();
  }
});
