/**
 * The environment switches for the kernel offloads (UDP GSO/GRO on the socket, TSO/GRO on the TUN device):
 * TUNVPN_OFFLOAD=0 turns all of them off, TUNVPN_UDP_OFFLOAD=0 or TUNVPN_TUN_OFFLOAD=0 one kind.
 */
export function offloadAllowed(kind: 'UDP' | 'TUN', env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TUNVPN_OFFLOAD !== '0' && env[`TUNVPN_${kind}_OFFLOAD`] !== '0';
}
