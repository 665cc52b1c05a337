#!/bin/sh
# Builds the native addon with node-gyp: configure once, then incremental builds (so reinstalling, or `npx
# tunvpn` from the project folder, does not recompile what is already built).
# Where Node's headers are installed system-wide (/usr/include/node) and npm was not told where they are, point
# node-gyp there instead of letting it try to download them.
set -e
cd "$(dirname "$0")"
nodedir=""
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
  nodedir="--nodedir=/usr"
fi
if [ -f build/Makefile ] && [ -f build/config.gypi ]; then
  exec node-gyp build $nodedir
fi
exec node-gyp rebuild $nodedir
