import test from 'ava';
import { EINVAL, EIO, EPROTO } from '../../src/uapi/errors.js';
import { MAX_LINE_BYTES, MAX_REQUEST_BYTES, RequestFramer, type Request } from '../../src/uapi/framing.js';

const enc = (s: string) => Buffer.from(s, 'latin1');

function drain(f: RequestFramer): Request[] {
  const out: Request[] = [];
  for (let r = f.next(); r; r = f.next()) out.push(r);
  return out;
}

test('pipelined requests in one chunk come out in order', (t) => {
  const f = new RequestFramer();
  f.push(enc('get=1\n\nset=1\nlisten_port=1\nfwmark=2\n\nget=1\n\n'));
  t.deepEqual(drain(f), [{ kind: 'get' }, { kind: 'set', lines: ['listen_port=1', 'fwmark=2'] }, { kind: 'get' }]);
  t.false(f.midRequest);
});

test('a request split byte by byte is reassembled', (t) => {
  const f = new RequestFramer();
  const text = 'set=1\nreplace_peers=true\n\n';
  const out: Request[] = [];
  for (const ch of text) {
    f.push(enc(ch));
    out.push(...drain(f));
  }
  t.deepEqual(out, [{ kind: 'set', lines: ['replace_peers=true'] }]);
});

test('an empty set body is a request with no lines', (t) => {
  const f = new RequestFramer();
  f.push(enc('set=1\n\n'));
  t.deepEqual(drain(f), [{ kind: 'set', lines: [] }]);
});

test('an unfinished request is held, not returned', (t) => {
  const f = new RequestFramer();
  f.push(enc('set=1\nlisten_port=1\n'));
  t.deepEqual(drain(f), []);
  t.true(f.midRequest);
});

test('unknown operations and trailing data after get=1 are framing errors', (t) => {
  for (const [text, errno] of [
    ['get=2\n\n', EPROTO],
    ['\n', EPROTO],
    ['GET=1\n\n', EPROTO],
    ['get=1\nx\n', EINVAL],
  ] as const) {
    const f = new RequestFramer();
    f.push(enc(text));
    const out = drain(f);
    t.is(out.length, 1, text);
    t.is(out[0]!.kind, 'error');
    t.is((out[0] as { errno: number }).errno, errno, text);
    // Broken for good: further input is ignored.
    f.push(enc('get=1\n\n'));
    t.deepEqual(drain(f), []);
  }
});

test('an overlong line is an error, with or without its newline', (t) => {
  const noNewline = new RequestFramer();
  noNewline.push(enc('set=1\n' + 'a'.repeat(MAX_LINE_BYTES + 1)));
  t.like(drain(noNewline)[0], { kind: 'error', errno: EIO });
  const withNewline = new RequestFramer();
  withNewline.push(enc('x'.repeat(MAX_LINE_BYTES + 1) + '\n'));
  t.like(drain(withNewline)[0], { kind: 'error', errno: EIO });
  const justFits = new RequestFramer();
  justFits.push(enc('set=1\n' + 'a'.repeat(MAX_LINE_BYTES) + '\n\n'));
  t.is(drain(justFits)[0]!.kind, 'set');
});

test('a set request over the size limit is an error', (t) => {
  const f = new RequestFramer();
  f.push(enc('set=1\n'));
  const line = enc('allowed_ip=10.0.0.0/8\n'.repeat(10_000));
  let err: Request | undefined;
  for (let sent = 0; sent <= MAX_REQUEST_BYTES + line.length && !err; sent += line.length) {
    f.push(line);
    err = drain(f).find((r) => r.kind === 'error');
  }
  t.like(err, { kind: 'error', errno: EIO });
});

test('binary garbage is a framing error, never an exception', (t) => {
  const f = new RequestFramer();
  const junk = Buffer.alloc(5000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 197 + 13) & 0xff;
  f.push(junk);
  const out = drain(f);
  t.is(out.length, 1);
  t.is(out[0]!.kind, 'error');
});
