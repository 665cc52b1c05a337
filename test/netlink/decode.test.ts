/** Decoders on captured kernel replies (see captures.ts) and on hostile input: errors, never crashes. */
import test from 'ava';
import fc from 'fast-check';
import {
  Attrs,
  parseAddress,
  parseError,
  parseFdb,
  parseLink,
  parseMessages,
  parseRoute,
  parseRule,
  rt,
} from '../../src/netlink/index.js';
import { NetlinkDecodeError, NetlinkError } from '../../src/netlink/errors.js';
import { EEXIST_ERROR_HEX, GENEVE_ERROR_HEX, GENEVE_ERROR_UNCAPPED_HEX, LINK_DUMP_HEX, ROUTE_GET_HEX } from './captures.js';

const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

test('link dump: three links and NLMSG_DONE, veth peers point at each other', (t) => {
  const msgs = parseMessages(bytes(LINK_DUMP_HEX));
  t.deepEqual(
    msgs.map((m) => m.type),
    [rt.RTM_NEWLINK, rt.RTM_NEWLINK, rt.RTM_NEWLINK, rt.NLMSG_DONE],
  );
  t.true(msgs.every((m) => m.seq === 7 && m.pid === 11061 && (m.flags & rt.NLM_F_MULTI) !== 0));
  const [lo, vb, va] = msgs.slice(0, 3).map(parseLink);
  t.like(lo, { index: 1, name: 'lo', mtu: 65536, up: false, operstate: 'DOWN', mac: '00:00:00:00:00:00' });
  t.is(lo?.kind, undefined);
  t.like(vb, { index: 2, name: 'vb', kind: 'veth', mtu: 1500, up: true, operstate: 'UP', mac: 'b6:9e:24:ee:3f:01', link: 3 });
  t.like(va, { index: 3, name: 'va', kind: 'veth', mac: '8a:e9:3e:40:49:89', link: 2 });
  t.is(va?.master, undefined);
});

test('NLMSG_ERROR with ext-ack (capped): errno and the kernel text', (t) => {
  const [m] = parseMessages(bytes(GENEVE_ERROR_HEX));
  t.like(parseError(m!), { errno: 95, extack: 'Unknown device type', requestType: rt.RTM_NEWLINK, requestSeq: 8 });
  const e = new NetlinkError('create link gn0 (geneve)', 95, 'Unknown device type');
  t.is(e.code, 'EOPNOTSUPP');
  t.is(e.message, 'create link gn0 (geneve): EOPNOTSUPP: Unknown device type');
});

test('NLMSG_ERROR with the whole request echoed before the ext-ack TLVs', (t) => {
  const [m] = parseMessages(bytes(GENEVE_ERROR_UNCAPPED_HEX));
  t.like(parseError(m!), { errno: 95, extack: 'Unknown device type' });
});

test('NLMSG_ERROR without ext-ack: EEXIST, message falls back to the errno description', (t) => {
  const [m] = parseMessages(bytes(EEXIST_ERROR_HEX));
  const err = parseError(m!);
  t.is(err.errno, 17);
  t.is(err.extack, undefined);
  const e = new NetlinkError('create link lo (bridge)', err.errno);
  t.is(e.code, 'EEXIST');
  t.regex(e.message, /^create link lo \(bridge\): EEXIST: \w/);
});

test('route get reply: dev, src, table, no gateway', (t) => {
  const [m] = parseMessages(bytes(ROUTE_GET_HEX));
  const r = parseRoute(m!);
  t.like(r, { family: 4, dst: '10.0.0.5/32', dev: 3, src: '10.0.0.1', table: 254 });
  t.is(r.gateway, undefined);
});

test('hostile framing: truncated or lying nlmsghdr lengths are errors', (t) => {
  const good = bytes(EEXIST_ERROR_HEX);
  const cases: Uint8Array[] = [
    good.subarray(0, 10), // shorter than a header
    good.subarray(0, 30), // nlmsg_len 36 past the end
    (() => { const b = new Uint8Array(good); b[0] = 8; return b; })(), // nlmsg_len below 16
    (() => { const b = new Uint8Array(good); b[0] = 0; return b; })(), // zero length (would loop)
    (() => { const b = new Uint8Array(good); b[0] = 0xff; b[1] = 0xff; return b; })(), // huge
  ];
  for (const c of cases) t.throws(() => parseMessages(c), { instanceOf: NetlinkDecodeError });
  t.throws(() => parseMessages(good, good.length + 1), { instanceOf: NetlinkDecodeError });
});

test('hostile attributes: past the end, zero length, short header, wrong size for the type', (t) => {
  t.throws(() => new Attrs(bytes('08000300616263')), { instanceOf: NetlinkDecodeError, message: /past the end/ });
  t.throws(() => new Attrs(bytes('00000300')), { instanceOf: NetlinkDecodeError, message: /below header size/ });
  t.throws(() => new Attrs(bytes('02000300')), { instanceOf: NetlinkDecodeError, message: /below header size/ });
  t.throws(() => new Attrs(bytes('0800030061626300aabb')), { instanceOf: NetlinkDecodeError, message: /truncated attribute header/ });
  const a = new Attrs(bytes('060004000102000005000500ff000000'));
  t.throws(() => a.u32(4), { instanceOf: NetlinkDecodeError, message: /wants 4 bytes, got 2/ });
  t.is(a.u16(4), 0x0201);
  t.is(a.u8(5), 0xff);
  t.is(a.u32(99), undefined);
  // An empty payload is legal (flag attributes).
  t.deepEqual(new Attrs(bytes('04000700')).bytes(7), new Uint8Array(0));
});

test('hostile nlmsgerr and short family headers', (t) => {
  const [m] = parseMessages(bytes(GENEVE_ERROR_HEX));
  t.throws(() => parseError({ ...m!, payload: m!.payload.subarray(0, 10) }), { instanceOf: NetlinkDecodeError });
  // ext-ack TLV whose length runs past the end
  const lying = new Uint8Array(m!.payload);
  lying[20] = 0x40;
  t.throws(() => parseError({ ...m!, payload: lying }), { instanceOf: NetlinkDecodeError });
  // Uncapped, echoed length running past the end.
  const [u] = parseMessages(bytes(GENEVE_ERROR_UNCAPPED_HEX));
  const longEcho = new Uint8Array(u!.payload);
  longEcho[4] = 0xf0;
  t.throws(() => parseError({ ...u!, payload: longEcho }), { instanceOf: NetlinkDecodeError });
  const stub = (type: number, n: number) => ({ type, flags: 0, seq: 0, pid: 0, payload: new Uint8Array(n) });
  t.throws(() => parseLink(stub(rt.RTM_NEWLINK, 15)), { instanceOf: NetlinkDecodeError });
  t.throws(() => parseAddress(stub(rt.RTM_NEWADDR, 7)), { instanceOf: NetlinkDecodeError });
  t.throws(() => parseRoute(stub(rt.RTM_NEWROUTE, 11)), { instanceOf: NetlinkDecodeError });
  t.throws(() => parseRule(stub(rt.RTM_NEWRULE, 11)), { instanceOf: NetlinkDecodeError });
  t.throws(() => parseFdb(stub(rt.RTM_NEWNEIGH, 11)), { instanceOf: NetlinkDecodeError });
  // A link without a name, a route with a 3-byte gateway.
  t.throws(() => parseLink(stub(rt.RTM_NEWLINK, 16)), { instanceOf: NetlinkDecodeError, message: /IFLA_IFNAME/ });
  const route = new Uint8Array([2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0, 7, 0, 5, 0, 10, 0, 0, 0]);
  t.throws(() => parseRoute({ ...stub(rt.RTM_NEWROUTE, 0), payload: route }), { instanceOf: NetlinkDecodeError });
});

test('fuzz: corrupting captured replies only ever raises NetlinkDecodeError', (t) => {
  const samples = [LINK_DUMP_HEX, GENEVE_ERROR_HEX, ROUTE_GET_HEX, GENEVE_ERROR_UNCAPPED_HEX].map(bytes);
  const decodeAll = (b: Uint8Array) => {
    for (const m of parseMessages(b)) {
      if (m.type === rt.NLMSG_ERROR) parseError(m);
      else if (m.type === rt.RTM_NEWLINK) parseLink(m);
      else if (m.type === rt.RTM_NEWROUTE) parseRoute(m);
    }
  };
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: samples.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(),
      (which, edits, cut) => {
        const b = new Uint8Array(samples[which]!);
        for (const [pos, val] of edits) b[pos % b.length] = val;
        const truncated = b.subarray(0, cut % (b.length + 1));
        try {
          decodeAll(truncated);
        } catch (e) {
          if (!(e instanceof NetlinkDecodeError)) throw e;
        }
      },
    ),
    { numRuns: 2000 },
  );
  t.notThrows(() => decodeAll(samples[0]!));
});
