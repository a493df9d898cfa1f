// The host's platform in OCI / Go terms (GOARCH plus variant), as dockerd reports it and as
// images record it.

export interface HostPlatform {
  architecture: string;
  /** The CPU variant images of this architecture are built for ("v7", "v8"), if any. */
  variant?: string;
}

// Node's process.arch → Go's GOARCH. Node says "ppc64" for the little-endian Linux build,
// which Go and Docker call ppc64le; likewise mips64el → mips64le.
const GOARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm: 'arm',
  arm64: 'arm64',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips64el: 'mips64le',
  mipsel: 'mipsle',
};

const VARIANT: Readonly<Record<string, string>> = { arm: 'v7', arm64: 'v8' };

/** Node's process.arch (the host's by default) as an OCI platform. */
export function hostPlatform(nodeArch: string = process.arch): HostPlatform {
  const architecture = GOARCH[nodeArch] ?? nodeArch;
  const variant = VARIANT[architecture];
  return variant ? { architecture, variant } : { architecture };
}

/** Go's GOARCH for the host (what `docker version` and image configs show). */
export function hostArchitecture(): string {
  return hostPlatform().architecture;
}

/** The kernel's and other tools' spellings of an architecture in OCI terms (x86_64 → amd64). */
export function normalizeArchitecture(arch: string): string {
  const a = arch.toLowerCase();
  if (a === 'x86_64' || a === 'x86-64') return 'amd64';
  if (a === 'aarch64') return 'arm64';
  return a;
}
