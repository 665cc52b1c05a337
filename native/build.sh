#!/bin/sh
# Builds the native addon with node-gyp. Where Node's headers are installed system-wide (/usr/include/node) and
# npm was not told where they are, point node-gyp there instead of letting it try to download them.
set -e
cd "$(dirname "$0")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
  exec node-gyp rebuild --nodedir=/usr
fi
exec node-gyp rebuild
