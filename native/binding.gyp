# The tunvpn native addon: syscalls (TUN, fd I/O, UDP batches, netlink, netns, fd watchers, one unix datagram for
# systemd's notification socket) and the batched crypto primitives of the data path (Node's own OpenSSL).
# Built by `npm ci` (package.json "install") into native/build/Release/tunvpn.node.
{
  "targets": [
    {
      "target_name": "tunvpn",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/args.cc",
        "src/tun.cc",
        "src/fdio.cc",
        "src/watch.cc",
        "src/udp.cc",
        "src/udp_offload.cc",
        "src/udp_batch.cc",
        "src/netlink.cc",
        "src/netns.cc",
        "src/aead.cc",
        "src/checksum.cc",
        "src/blake2s.cc",
        "src/x25519.cc",
        "src/notify.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      # C++ exceptions on: Napi::Error is thrown in C++ and becomes a JS exception at the binding boundary.
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "_GNU_SOURCE"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fexceptions", "-std=gnu++17"]
    }
  ]
}
