/**
 * Import boundaries of tunvpn's source tree (docs/architecture.md), checked by `npm run lint`.
 * Type-only imports count too (tsPreCompilationDeps): a boundary is about what a layer knows, not only what it
 * loads.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles: every module can be read and tested from the bottom up.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'protocol-is-pure',
      severity: 'error',
      comment: 'protocol/ is the pure WireGuard core: bytes and time in, results out. No Node modules, no addon.',
      from: { path: '^src/protocol/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'protocol-no-addon-or-io',
      severity: 'error',
      comment: 'protocol/ reaches no I/O layer: not the addon, TUN, binds, netlink, the device or the UAPI.',
      from: { path: '^src/protocol/' },
      to: { path: '^src/(native|tun|conn|netlink|device|uapi|quick|cli|daemon|site|lab|config|mesh|system|metrics|systemd)/' },
    },
    {
      name: 'protocol-cannot-reach-the-addon',
      severity: 'error',
      comment:
        'Not even through crypto/: the core takes its primitives injected (crypto/handshake-crypto.ts, ' +
        'crypto/transport-aead.ts), so it and its tests run with the addon absent.',
      from: { path: '^src/protocol/' },
      to: { path: '^src/native/', reachable: true },
    },
    {
      name: 'tun-and-conn-are-siblings',
      severity: 'error',
      comment: 'The TUN side and the UDP side share only what lives below both (packet/, net/).',
      from: { path: '^src/tun/' },
      to: { path: '^src/conn/' },
    },
    {
      name: 'conn-and-tun-are-siblings',
      severity: 'error',
      comment: 'The TUN side and the UDP side share only what lives below both (packet/, net/).',
      from: { path: '^src/conn/' },
      to: { path: '^src/tun/' },
    },
    {
      name: 'only-named-folders-call-the-addon',
      severity: 'error',
      comment:
        'The addon (src/native/) is called only where a system call or a native batch is needed: conn/ (UDP), tun/ ' +
        '(TUN, checksums), netlink/ (netlink, namespaces), crypto/ (the native primitives), the systemd notifier ' +
        '(systemd/) and the benchmark\'s lab code (bench/). Everything else, device/ included, reaches it through ' +
        'their interfaces.',
      from: {
        pathNot: '^(src/(native|conn|tun|netlink|crypto|systemd)/|bench/)',
      },
      to: { path: '^src/native/' },
    },
    {
      name: 'addon-through-its-concern-modules',
      severity: 'error',
      comment:
        'native/load.ts is the one loader of the .node file and hands out an untyped object; callers import the typed ' +
        'module of their concern (native/tun.ts, udp.ts, netlink.ts, netns.ts, fdio.ts, poll.ts, checksum.ts, ' +
        'crypto.ts, notify.ts, errors.ts) instead.',
      from: { pathNot: '^src/native/' },
      to: { path: '^src/native/load\\.ts$' },
    },
    {
      name: 'bottom-layers-stay-at-the-bottom',
      severity: 'error',
      comment: 'net/ and packet/ are used by everyone and use nothing above them, not even the addon.',
      from: { path: '^src/(net|packet)/' },
      to: { path: '^src/(crypto|protocol|tun|conn|device|netlink|uapi|quick|cli|daemon|site|lab|config|mesh|native|system|metrics|systemd)/' },
    },
    {
      name: 'crypto-stays-low',
      severity: 'error',
      comment: 'crypto/ wraps ciphers (the native AEAD through the addon); it knows nothing of the layers above.',
      from: { path: '^src/crypto/' },
      to: { path: '^src/(protocol|tun|conn|device|netlink|uapi|quick|cli|daemon|site|lab|config|mesh|system|metrics|systemd)/' },
    },
    {
      name: 'mesh-sits-above-the-device',
      severity: 'error',
      comment:
        'mesh/ (registry in, device changes out, and its lifecycle in a running interface) uses config/, device/, ' +
        'netlink/, uapi/ (the mesh=1/vtep=1 codec and handler contract) and below; the daemon runtime, `up`, sites ' +
        'and the CLI use it, never the other way round. It may record its changes in a system/ Transaction.',
      from: { path: '^src/mesh/' },
      to: { path: '^src/(quick|daemon|cli|site|lab|metrics|systemd)/' },
    },
    {
      name: 'below-the-mesh',
      severity: 'error',
      comment:
        'The layers the mesh stands on know nothing of it: config/ (the [Mesh] section parser, config/mesh.ts, ' +
        'parsed with the rest of the file) and uapi/ (the mesh=1/vtep=1 wire codec, uapi/mesh-format.ts) included.',
      from: { path: '^src/(native|tun|conn|device|netlink|uapi|config|system|systemd)/' },
      to: { path: '^src/mesh/' },
    },
    {
      name: 'system-transaction-knows-no-layer',
      severity: 'error',
      comment:
        'system/ (the Transaction: announce each system change, undo in reverse) takes its changes as callbacks; ' +
        'it imports no folder of src/, so `up`, the daemon, sites and the mesh can all record into it.',
      from: { path: '^src/system/' },
      to: { path: '^src/[^/]+/' },
    },
    {
      name: 'systemd-speaks-only-sd-notify',
      severity: 'error',
      comment: 'systemd/ sends sd_notify(3) datagrams through the addon; it knows nothing of the tunnel it reports on.',
      from: { path: '^src/systemd/' },
      to: { path: '^src/(?!native/)[^/]+/' },
    },
    {
      name: 'metrics-read-the-device',
      severity: 'error',
      comment:
        'metrics/ exposes a Device\'s counters to Prometheus; it reads device/ (and crypto/, net/ below it), and ' +
        'the layers that run an interface (daemon/, quick/, cli/) start it, never the other way round.',
      from: { path: '^src/metrics/' },
      to: { path: '^src/(native|tun|conn|netlink|uapi|quick|cli|daemon|site|lab|config|mesh|system|systemd)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
