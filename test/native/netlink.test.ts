/**
 * The native addon against the real kernel (run as root). Every namespace is created with a unique name and
 * removed in t.teardown; traffic goes only to loopback or to addresses inside those namespaces. *
 * This file: netlink sockets.
 */
import test from 'ava';
import { C, EOPNOTSUPP, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_REQUEST, RTM_UNKNOWN, n, throwsNative, whenReadable } from './helpers.js';

test('netlinkOpen: port id, 1 MiB receive buffer, NLMSG_ERROR for a malformed request, EMSGSIZE on truncation', async (t) => {
  const nl = n.netlinkOpen(C.NETLINK_ROUTE);
  t.teardown(() => n.close(nl.fd));
  t.true(nl.portId !== 0);
  t.true(n.getsockoptInt(nl.fd, C.SOL_SOCKET, C.SO_RCVBUF) >= 1 << 20);
  t.is(n.recv(nl.fd, new Uint8Array(64)), -1, 'nothing queued: EAGAIN is -1');

  // A message type rtnetlink does not know: the kernel must answer with an NLMSG_ERROR.
  const req = new Uint8Array(NLMSG_HDRLEN);
  const rv = new DataView(req.buffer);
  rv.setUint32(0, NLMSG_HDRLEN, true);
  rv.setUint16(4, RTM_UNKNOWN, true);
  rv.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
  rv.setUint32(8, 4242, true);
  t.is(n.send(nl.fd, req), NLMSG_HDRLEN);
  await whenReadable(nl.fd);
  const buf = new Uint8Array(4096);
  const len = n.recv(nl.fd, buf);
  t.true(len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN);
  const v = new DataView(buf.buffer);
  t.is(v.getUint16(4, true), NLMSG_ERROR);
  t.is(v.getUint32(8, true), 4242, 'sequence number echoed');
  t.is(v.getUint32(12, true), nl.portId, 'addressed to our port');
  t.is(v.getInt32(16, true), -EOPNOTSUPP);

  rv.setUint32(8, 4243, true);
  t.is(n.send(nl.fd, req), NLMSG_HDRLEN);
  await whenReadable(nl.fd);
  throwsNative(t, () => n.recv(nl.fd, new Uint8Array(8)), 'EMSGSIZE');
  t.is(n.recv(nl.fd, buf), -1, 'the truncated message was consumed');
});
