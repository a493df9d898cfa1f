// Engine API shapes for networks (API 1.47), hand-written after moby's api/types/network: the
// /networks requests and responses, and the network and port parts of a container's config and inspect.

export interface IPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface IPAM {
  Driver?: string;
  Options?: Record<string, string> | null;
  Config?: IPAMConfig[] | null;
}

/** POST /networks/create body. */
export interface NetworkCreateRequest {
  Name: string;
  /** Deprecated in the API; accepted and ignored, as dockerd does since 1.44. */
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  IPAM?: IPAM | null;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network: string } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface EndpointResource {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

/** GET /networks and /networks/{id}. */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IPAMConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, EndpointResource>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  Peers?: unknown[];
}

export interface EndpointIPAMConfig {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[];
}

/** A container's settings on one network, as in NetworkSettings.Networks[name]. */
export interface EndpointSettings {
  IPAMConfig: EndpointIPAMConfig | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  GwPriority?: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** HostConfig.PortBindings / NetworkSettings.Ports: `"80/tcp" → bindings`. */
export type PortMap = Record<string, PortBinding[] | null>;

/** Config.ExposedPorts: `"80/tcp" → {}`. */
export type PortSet = Record<string, object>;

/** POST /networks/create response. */
export interface NetworkCreateResponse {
  Id: string;
  Warning: string;
}

/** POST /networks/prune response. */
export interface NetworkPruneReport {
  NetworksDeleted: string[];
}
