// Subscribes an nsqjs Reader, then publishes random bodies of the given
// sizes with an nsqjs Writer, one PUB at a time, waiting until the Reader
// has each body before sending the next (so a frame left in a buffer is not
// pushed out by the frames after it), and finally one MPUB of all. Reader
// and Writer use the same connection options (tls, snappy, deflate,
// deflateLevel, heartbeatInterval; the test picks a heartbeat interval far
// longer than it waits, since a heartbeat flushes what a buffer holds).
// While both are connected it checks in nsqd's /stats that the features
// were negotiated. Prints "OK sizes" and exits 0 when every body arrived
// intact; prints "FAIL ..." and exits 1 otherwise.
// Usage: node sizes.js NSQD_TCP_PORT NSQD_HTTP_PORT TOPIC OPTIONS_JSON SIZES
// where SIZES is a comma-separated list of byte counts.
'use strict';
const crypto = require('crypto');
const nsq = require('nsqjs');

const [tcpPort, httpPort, topic, optionsJSON, sizesArg] = process.argv.slice(2);
const conn = JSON.parse(optionsJSON);
const sizes = sizesArg.split(',').map(Number);
const want = {tls: !!conn.tls, snappy: !!conn.snappy, deflate: !!conn.deflate};
const waitMs = 60000; // boundaryWait in compress_test.go: under the 2 min heartbeat

function fail(what, err) {
  console.log(`FAIL ${what}: ${err}`);
  process.exit(1);
}

const digest = (b) => crypto.createHash('sha256').update(b).digest('hex');
const bodies = sizes.map((n) => crypto.randomBytes(n));
const known = new Map(bodies.map((b) => [digest(b), b.length]));

// waiting: digest -> copies still expected; wake is called on each arrival
const waiting = new Map();
let wake = () => {};

function receive(what, list) {
  for (const b of list) waiting.set(digest(b), (waiting.get(digest(b)) || 0) + 1);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const missing = [...waiting.keys()].map((d) => known.get(d));
      fail(`deliver (${what})`, `bodies of [${missing}] bytes not received within ${waitMs / 1000}s`);
    }, waitMs);
    wake = () => {
      if (waiting.size === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    wake();
  });
}

function publish(writer, what, msgs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(`publish (${what})`, `no reply within ${waitMs / 1000}s`), waitMs);
    writer.publish(topic, msgs, (err) => {
      clearTimeout(timer);
      if (err) fail(`publish (${what})`, err);
      resolve();
    });
  });
}

async function stats() {
  const res = await fetch(`http://127.0.0.1:${httpPort}/stats?format=json&topic=${topic}`);
  if (res.status !== 200) throw new Error(`/stats: ${res.status}`);
  return res.json();
}

function checkFlags(who, client) {
  if (!client) fail(who, 'not in /stats');
  const got = {tls: !!client.tls, snappy: !!client.snappy, deflate: !!client.deflate};
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    fail(who, `negotiated ${JSON.stringify(got)} in /stats, want ${JSON.stringify(want)}`);
  }
}

async function main() {
  const reader = new nsq.Reader(topic, 'ch', Object.assign({maxInFlight: 8}, conn, {
    nsqdTCPAddresses: [`127.0.0.1:${tcpPort}`],
  }));
  reader.on('error', (err) => fail('reader', err));
  reader.on('message', (msg) => {
    const d = digest(msg.body);
    if (!known.has(d)) fail('reader', `received a corrupt body of ${msg.body.length} bytes`);
    msg.finish();
    const n = waiting.get(d);
    if (n === undefined) return; // a redelivery
    if (n <= 1) waiting.delete(d);
    else waiting.set(d, n - 1);
    wake();
  });
  await new Promise((resolve) => {
    reader.on('ready', resolve);
    reader.connect();
  });

  const writer = new nsq.Writer('127.0.0.1', Number(tcpPort), conn);
  writer.on('error', (err) => fail('writer', err));
  await new Promise((resolve) => {
    writer.on('ready', resolve);
    writer.connect();
  });
  for (const b of bodies) {
    const what = `PUB of ${b.length} bytes`;
    const got = receive(what, [b]);
    await publish(writer, what, b);
    await got;
  }
  const got = receive('MPUB of every size', bodies);
  await publish(writer, 'MPUB of every size', bodies);
  await got;

  const s = await stats();
  checkFlags('writer', (s.producers || []).find((p) => (p.pub_counts || []).some((c) => c.topic === topic)));
  const ch = s.topics[0].channels.find((c) => c.channel_name === 'ch');
  checkFlags('reader', ch && ch.clients[0]);
  console.log(`OK sizes: ${sizes.join(',')}`);
  reader.close();
  writer.close();
  setTimeout(() => process.exit(0), 100);
}

main().catch((err) => fail('error', err));
