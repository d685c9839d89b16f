// Publishes with an nsqjs Writer (MPUB and PUB) and consumes with an nsqjs
// Reader (REQ once, TOUCH once, FIN all), over plain TCP, snappy, deflate,
// or discovery through nsqlookupd. Exits 0 and prints "OK <mode>" when every
// message arrived. Usage: node interop.js NSQD_TCP_PORT LOOKUPD_HTTP_PORT MODE
'use strict';
const nsq = require('nsqjs');

const [tcpPort, lookupHTTPPort, mode] = process.argv.slice(2);
const total = 500;
const topic = 'nsqjs_' + mode;
const compression = {snappy: mode === 'snappy', deflate: mode === 'deflate'};

const readerOpts = Object.assign({maxInFlight: 50}, compression);
if (mode === 'lookupd') {
  readerOpts.lookupdHTTPAddresses = [`127.0.0.1:${lookupHTTPPort}`];
  readerOpts.lookupdPollInterval = 1;
} else {
  readerOpts.nsqdTCPAddresses = [`127.0.0.1:${tcpPort}`];
}

function fail(what, err) {
  console.error(`FAIL ${mode}: ${what}: ${err}`);
  process.exit(1);
}

const bodies = Array.from({length: total}, (_, i) => `m${i}`);
const writer = new nsq.Writer('127.0.0.1', Number(tcpPort), compression);
writer.on('error', (err) => fail('writer', err));
writer.on('ready', () => {
  writer.publish(topic, bodies.slice(0, total / 2), (err) => {
    if (err) fail('MPUB', err);
    let left = total / 2;
    for (const body of bodies.slice(total / 2)) {
      writer.publish(topic, body, (err) => {
        if (err) fail('PUB', err);
        if (--left === 0) consume();
      });
    }
  });
});
writer.connect();

function consume() {
  const seen = new Set();
  let requeued = false;
  const reader = new nsq.Reader(topic, 'ch', readerOpts);
  reader.on('error', (err) => fail('reader', err));
  reader.on('message', (msg) => {
    const body = msg.body.toString();
    if (body === 'm7' && !requeued) {
      requeued = true;
      msg.requeue(0, false);
      return;
    }
    if (body === 'm7' && msg.attempts < 2) fail('requeued message', `attempts ${msg.attempts}`);
    if (body === 'm8') msg.touch();
    seen.add(body);
    msg.finish();
    if (seen.size === total) {
      console.log(`OK ${mode}: ${total} messages`);
      reader.close();
      writer.close();
      setTimeout(() => process.exit(0), 100);
    }
  });
  reader.connect();
}

setTimeout(() => fail('timeout', 'not every message arrived within 30s'), 30000).unref();
