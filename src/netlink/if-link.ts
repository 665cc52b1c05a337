/** Link constants from linux/if_link.h, linux/if.h and linux/if_tun.h, named as in the kernel. */

// ---- IFLA_* (ifinfomsg attributes) ----------------------------------------------------------------------
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_IFALIAS = 20;
export const IFLA_STATS64 = 23;
export const IFLA_AF_SPEC = 26;
export const IFLA_GROUP = 27;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
export const IFLA_CARRIER = 33;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_PERM_ADDRESS = 54;

/** IFLA_EXT_MASK bits. */
export const RTEXT_FILTER_VF = 1 << 0;

// ---- IFLA_LINKINFO nest -----------------------------------------------------------------------------
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_XSTATS = 3;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;

// ---- veth (linux/veth.h) ------------------------------------------------------------------------------
/** Nested: a struct ifinfomsg followed by IFLA_* attributes of the peer. */
export const VETH_INFO_PEER = 1;

// ---- vxlan ----------------------------------------------------------------------------------------------
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_GROUP = 2;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_TOS = 6;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_AGEING = 8;
export const IFLA_VXLAN_LIMIT = 9;
/** Big-endian u16. */
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_GROUP6 = 16;
export const IFLA_VXLAN_LOCAL6 = 17;

// ---- macvlan ----------------------------------------------------------------------------------------------
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_PRIVATE = 1;
export const MACVLAN_MODE_VEPA = 2;
export const MACVLAN_MODE_BRIDGE = 4;
export const MACVLAN_MODE_PASSTHRU = 8;
export const MACVLAN_MODE_SOURCE = 16;

// ---- ipvlan -------------------------------------------------------------------------------------------------
/** u16. */
export const IFLA_IPVLAN_MODE = 1;
/** u16. */
export const IFLA_IPVLAN_FLAGS = 2;
export const IPVLAN_MODE_L2 = 0;
export const IPVLAN_MODE_L3 = 1;
export const IPVLAN_MODE_L3S = 2;

// ---- vlan ------------------------------------------------------------------------------------------------------
/** u16. */
export const IFLA_VLAN_ID = 1;

// ---- geneve ----------------------------------------------------------------------------------------------------
export const IFLA_GENEVE_ID = 1;
export const IFLA_GENEVE_REMOTE = 2;
export const IFLA_GENEVE_TTL = 3;
export const IFLA_GENEVE_TOS = 4;
/** Big-endian u16. */
export const IFLA_GENEVE_PORT = 5;
export const IFLA_GENEVE_REMOTE6 = 7;
/** Big-endian u32 (IPv6 flow label). */
export const IFLA_GENEVE_LABEL = 11;

// ---- tun (linux/if_link.h IFLA_TUN_*) -----------------------------------------------------------------------
// Reported in dumps; this kernel refuses creating tun/tap over rtnetlink, so devices are made with TUNSETIFF.
export const IFLA_TUN_OWNER = 1;
export const IFLA_TUN_GROUP = 2;
export const IFLA_TUN_TYPE = 3;
export const IFLA_TUN_PI = 4;
export const IFLA_TUN_VNET_HDR = 5;
export const IFLA_TUN_PERSIST = 6;
export const IFLA_TUN_MULTI_QUEUE = 7;

// ---- interface flags (linux/if.h) ------------------------------------------------------------------------------
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;

/** IF_OPER_* by value (RFC 2863 operational states), as `ip` prints them. */
export const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'] as const;
export type OperState = (typeof OPERSTATES)[number];

export { IFNAMSIZ } from '../net/ifname.js';
/** Bytes in an Ethernet (MAC) address. */
export const ETH_ALEN = 6;
