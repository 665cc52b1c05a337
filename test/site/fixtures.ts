/** Site files shared by the site tests: docs/sites.md's site a (a bridge, a vxlan over tun0, c1 and c2). */
export const SITE_A = `
[Bridge]
Name = br-lan
Address = 192.168.50.1/24

[Vxlan]
Name = vx-lan
Id = 42
Local = 10.213.0.1
Remote = 10.213.0.2
Bridge = br-lan
Dev = tun0

[Namespace]
Name = c1
Bridge = br-lan
Address = 192.168.50.11/24
Gateway = 192.168.50.1

[Namespace]
Name = c2
Bridge = br-lan
Address = 192.168.50.12/24
`;

/** Site a plus a macvlan moved into c2: exercises parents and namespace moves. */
export const SITE_A_WITH_MACVLAN = `${SITE_A}
[Macvlan]
Name = mv0
Parent = tun0
Namespace = c2
`;
