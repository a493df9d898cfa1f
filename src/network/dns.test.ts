import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aaaaRecord, aRecord, buildResponse, encodeName, handleMessage, parseQuery, parseUpstream, TYPE_A, TYPE_AAAA } from './dns.js';
import { parseIPv6 } from './ip6.js';

function query(name: string, qtype: number, id = 0x1234): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([h, encodeName(name), tail]);
}

test('parseQuery reads the first question', () => {
  const q = parseQuery(query('web.mynet', TYPE_A))!;
  assert.equal(q.id, 0x1234);
  assert.equal(q.name, 'web.mynet');
  assert.equal(q.qtype, TYPE_A);
  assert.equal(parseQuery(Buffer.alloc(5)), undefined);
});

test('buildResponse answers with A records pointing at the question', () => {
  const msg = query('web', TYPE_A);
  const q = parseQuery(msg)!;
  const r = buildResponse(msg, q, 0, [aRecord('10.1.2.3')]);
  assert.equal(r.readUInt16BE(0), 0x1234);
  assert.ok(r.readUInt16BE(2) & 0x8000);
  assert.equal(r.readUInt16BE(2) & 0xf, 0);
  assert.equal(r.readUInt16BE(6), 1);
  assert.deepEqual([...r.subarray(r.length - 4)], [10, 1, 2, 3]);
  assert.equal(r.readUInt16BE(q.end), 0xc00c);
});

test('handleMessage: local answers, NXDOMAIN, REFUSED, and forwarding failure as SERVFAIL', async () => {
  const r1 = (await handleMessage(query('x', TYPE_AAAA), () => ({ kind: 'answer', answers: [] }), false))!;
  assert.equal(r1.readUInt16BE(2) & 0xf, 0);
  assert.equal(r1.readUInt16BE(6), 0);
  const r2 = (await handleMessage(query('x', TYPE_A), () => ({ kind: 'nxdomain' }), false))!;
  assert.equal(r2.readUInt16BE(2) & 0xf, 3);
  const r3 = (await handleMessage(query('x', TYPE_A), () => ({ kind: 'refused' }), false))!;
  assert.equal(r3.readUInt16BE(2) & 0xf, 5);
  // A closed local port: the forward fails fast (ECONNREFUSED on UDP is reported as an error or times out).
  const r4 = (await handleMessage(query('x', TYPE_A), () => ({ kind: 'forward', upstreams: ['127.0.0.1:1'] }), true))!;
  assert.equal(r4.readUInt16BE(2) & 0xf, 2);
});

test('parseUpstream', () => {
  assert.deepEqual(parseUpstream('10.0.0.1'), { host: '10.0.0.1', port: 53 });
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.deepEqual(parseUpstream('[::1]:5353'), { host: '::1', port: 5353 });
  assert.deepEqual(parseUpstream('::1'), { host: '::1', port: 53 });
});

test('aaaaRecord: the 16 bytes of the address, in network order', () => {
  const a = aaaaRecord(parseIPv6('fd00:1::a:10')!);
  assert.equal(a.type, TYPE_AAAA);
  assert.equal(a.data.toString('hex'), 'fd0000010000000000000000000a0010');
});
