/** NetlinkSocket against a scripted in-memory kernel: queueing, ACKs, errors, dumps, DUMP_INTR, ENOBUFS, close. */
import test from 'ava';
import type { FdWatcher } from '../../src/native/poll.js';
import type { NetlinkChannel } from '../../src/netlink/channel.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { NetlinkError, parseMessages, rt, type NlMessage, type NlRequest } from '../../src/netlink/index.js';
import { attrString, concat } from '../../src/netlink/attr.js';
import { formatIfInfoMsg } from '../../src/netlink/headers.js';

const PORT = 4242;
const POLL_READABLE = 1;

function msg(type: number, flags: number, seq: number, payload: Uint8Array, pid = PORT): Uint8Array {
  const b = new Uint8Array(16 + payload.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, b.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, pid, true);
  b.set(payload, 16);
  return b;
}

function errPayload(errno: number, extack?: string): Uint8Array {
  const head = new Uint8Array(20);
  new DataView(head.buffer).setInt32(0, -errno, true);
  return extack ? concat([head, attrString(rt.NLMSGERR_ATTR_MSG, extack)]) : head;
}

const ack = (seq: number, errno = 0, extack?: string) =>
  msg(rt.NLMSG_ERROR, rt.NLM_F_CAPPED | (extack ? rt.NLM_F_ACK_TLVS : 0), seq, errPayload(errno, extack));
const link = (seq: number, index: number, name: string, flags = rt.NLM_F_MULTI) =>
  msg(rt.RTM_NEWLINK, flags, seq, concat([formatIfInfoMsg({ index }), attrString(3, name)]));
const done = (seq: number, flags = rt.NLM_F_MULTI) => msg(rt.NLMSG_DONE, flags, seq, new Uint8Array(4));

type Kernel = (sent: NlMessage, count: number) => Array<Uint8Array | Error>;

/** A fake channel: each send is answered by `kernel` (datagrams, or errors recv will throw), delivered on readable. */
class FakeChannel implements NetlinkChannel {
  readonly portId = PORT;
  readonly pollReadable = POLL_READABLE;
  readonly inbox: Array<Uint8Array | Error> = [];
  readonly sent: NlMessage[] = [];
  started = false;
  watcherClosed = false;
  closed = false;
  private cb: ((events: number) => void) | undefined;
  constructor(private readonly kernel: Kernel) {}
  send(buf: Uint8Array): number {
    const [m] = parseMessages(buf);
    this.sent.push(m!);
    this.inbox.push(...this.kernel(m!, this.sent.length));
    this.kick();
    return buf.length;
  }
  recv(buf: Uint8Array): number {
    const next = this.inbox.shift();
    if (next === undefined) return -1;
    if (next instanceof Error) throw next;
    buf.set(next);
    return next.length;
  }
  private kick(): void {
    setImmediate(() => {
      if (this.started && this.cb && this.inbox.length) this.cb(POLL_READABLE);
    });
  }
  watch(cb: (events: number) => void): FdWatcher {
    this.cb = cb;
    return {
      start: () => {
        this.started = true;
        this.kick();
      },
      stop: () => {
        this.started = false;
      },
      close: () => {
        this.started = false;
        this.watcherClosed = true;
      },
    };
  }
  close(): void {
    this.closed = true;
  }
}

const req = (what: string, dump = false): NlRequest => ({
  type: rt.RTM_GETLINK,
  flags: rt.NLM_F_REQUEST | (dump ? rt.NLM_F_DUMP : rt.NLM_F_ACK),
  body: formatIfInfoMsg(),
  what,
  ...(dump ? { dump: true } : {}),
});

test('an ACK resolves; replies before it are returned; the watcher stops when idle', async (t) => {
  const ch = new FakeChannel((m) => [concat([link(m.seq, 5, 'x', 0), ack(m.seq)])]);
  const s = new NetlinkSocket(ch);
  const replies = await s.request(req('get link x'));
  t.is(replies.length, 1);
  t.is(replies[0]!.type, rt.RTM_NEWLINK);
  t.false(ch.started, 'no active watcher while idle');
  s.close();
  t.true(ch.closed);
  t.true(ch.watcherClosed);
});

test('NLMSG_ERROR rejects with a NetlinkError naming the operation and carrying the ext-ack', async (t) => {
  const ch = new FakeChannel((m) => [ack(m.seq, 95, 'Unknown device type')]);
  const s = new NetlinkSocket(ch);
  const e = await t.throwsAsync(s.request(req('create link gn0 (geneve)')), { instanceOf: NetlinkError });
  t.is(e?.code, 'EOPNOTSUPP');
  t.is(e?.message, 'create link gn0 (geneve): EOPNOTSUPP: Unknown device type');
  s.close();
});

test('two concurrent dumps run one after the other, each with its own replies', async (t) => {
  const undelivered: number[] = [];
  const ch: FakeChannel = new FakeChannel((m, n) => {
    undelivered.push(ch.inbox.length);
    // Each dump spans three datagrams; a stale seq and a foreign port id are mixed in and must be ignored.
    return [
      concat([link(m.seq - 1, 99, 'stale'), link(m.seq, n * 10 + 1, `a${n}`)]),
      concat([retagPid(link(m.seq, 77, 'foreign'), 1), link(m.seq, n * 10 + 2, `b${n}`)]),
      done(m.seq),
    ];
  });
  const s = new NetlinkSocket(ch);
  const [d1, d2] = await Promise.all([s.request(req('dump 1', true)), s.request(req('dump 2', true))]);
  t.is(ch.sent.length, 2);
  t.not(ch.sent[0]!.seq, ch.sent[1]!.seq);
  t.deepEqual(undelivered, [0, 0], 'the second dump was sent only after the first one had been read to its end');
  const indices = (ms: NlMessage[]) => ms.map((m) => new DataView(m.payload.buffer, m.payload.byteOffset).getInt32(4, true));
  t.deepEqual(indices(d1), [11, 12]);
  t.deepEqual(indices(d2), [21, 22]);
  s.close();
});

test('replies for another port id are ignored', async (t) => {
  const ch = new FakeChannel((m) => [concat([link(m.seq, 9, 'other', 0), ack(m.seq)].map((b, i) => (i === 0 ? retagPid(b, 1) : b)))]);
  const s = new NetlinkSocket(ch);
  t.deepEqual(await s.request(req('get link')), []);
  s.close();
});

function retagPid(b: Uint8Array, pid: number): Uint8Array {
  const c = new Uint8Array(b);
  new DataView(c.buffer).setUint32(12, pid, true);
  return c;
}

test('NLM_F_DUMP_INTR: retried once, then an EINTR error', async (t) => {
  const once = new FakeChannel((m, n) => [concat([link(m.seq, n, `l${n}`, rt.NLM_F_MULTI | (n === 1 ? rt.NLM_F_DUMP_INTR : 0)), done(m.seq)])]);
  const s1 = new NetlinkSocket(once);
  const r = await s1.request(req('list links', true));
  t.is(once.sent.length, 2);
  t.is(r.length, 1, 'only the retry’s replies');
  s1.close();

  const always = new FakeChannel((m, n) => [concat([link(m.seq, n, 'x', rt.NLM_F_MULTI | rt.NLM_F_DUMP_INTR), done(m.seq)])]);
  const s2 = new NetlinkSocket(always);
  const e = await t.throwsAsync(s2.request(req('list links', true)), { instanceOf: NetlinkError });
  t.is(e?.code, 'EINTR');
  t.regex(e?.message ?? '', /^list links: EINTR: dump interrupted twice/);
  s2.close();
});

test('ENOBUFS from recv rejects the request in flight with an ordinary error; the next request works', async (t) => {
  const enobufs = Object.assign(new Error('ENOBUFS: recv'), { code: 'ENOBUFS', errno: 105, syscall: 'recv' });
  const ch = new FakeChannel((m, n) => (n === 1 ? [enobufs, link(m.seq, 1, 'late')] : [ack(m.seq)]));
  const s = new NetlinkSocket(ch);
  const p1 = s.request(req('list links', true));
  const p2 = s.request(req('get link y'));
  const e = await t.throwsAsync(p1, { instanceOf: NetlinkError });
  t.is(e?.code, 'ENOBUFS');
  t.regex(e?.message ?? '', /^list links: ENOBUFS/);
  t.deepEqual(await p2, []);
  s.close();
});

test('close() rejects the request in flight and the queued ones; later requests reject at once', async (t) => {
  const ch = new FakeChannel(() => []); // the kernel never answers
  const s = new NetlinkSocket(ch);
  const p1 = s.request(req('first'));
  const p2 = s.request(req('second'));
  s.close();
  for (const p of [p1, p2]) {
    const e = await t.throwsAsync(p, { instanceOf: NetlinkError });
    t.is(e?.code, 'ECANCELED');
  }
  t.is(ch.sent.length, 1, 'the queued request was never sent');
  await t.throwsAsync(s.request(req('third')), { instanceOf: NetlinkError, message: /^third: ECANCELED/ });
  t.true(ch.closed && ch.watcherClosed);
});

test('a NLMSG_DONE carrying a negative error rejects the dump', async (t) => {
  const ch = new FakeChannel((m) => {
    const d = done(m.seq);
    new DataView(d.buffer).setInt32(16, -22, true);
    return [d];
  });
  const s = new NetlinkSocket(ch);
  await t.throwsAsync(s.request(req('list rules', true)), { instanceOf: NetlinkError, message: /^list rules: EINVAL/ });
  s.close();
});
