// The controller's settings: berthd's networking flags (dockerd's names) and the hooks it calls back.
import type { Logger } from 'pino';
import type { AddressPoolSpec } from './ipam.js';

export interface NetworkControllerOptions {
  dataRoot: string;
  execRoot: string;
  logger: Logger;
  /** The default bridge's interface (dockerd: docker0). */
  bridgeName?: string;
  /** The default bridge's address and prefix, e.g. 10.200.0.1/24 (dockerd --bip). */
  bip?: string;
  defaultAddressPools?: AddressPoolSpec[];
  /** Outbound NAT for the default bridge (dockerd --ip-masq). */
  ipMasq?: boolean;
  /** Program Berth's firewall table at all (dockerd --iptables). */
  iptables?: boolean;
  /** Inter-container communication on the default bridge (dockerd --icc). */
  icc?: boolean;
  /** IPv6 on the default bridge (dockerd --ipv6), in `fixedCidrV6` (--fixed-cidr-v6) or a unique local /64. */
  ipv6?: boolean;
  fixedCidrV6?: string;
  /** Default MTU of bridges and veths. */
  mtu?: number;
  /** nftables table name (default `berth`); tests use their own. */
  firewallTable?: string;
  /** Prefix of user-defined networks' bridges (default `br-`, + 12 hex digits of the network ID). */
  bridgePrefix?: string;
  /** Where the embedded DNS forwards unknown names (default: the host resolv.conf's nameservers). */
  dnsUpstreams?: string[];
  resolvConfPath?: string;
  onEvent?: (action: string, id: string, attrs: Record<string, string>) => void;
}
