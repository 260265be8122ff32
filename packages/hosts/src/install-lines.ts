/**
 * The package that provides each binary per distribution family, so a missing tool comes with
 * the exact line that installs it there. null: not packaged there (built by hand). `cc` is a C
 * compiler with the C library's headers and `zlib.h` zlib's: what building openloop or the
 * server's addon on a host needs.
 */
const PACKAGES: Record<string, Record<string, string | null>> = {
  debian: {
    cc: 'gcc libc6-dev',
    'zlib.h': 'zlib1g-dev',
    node: 'nodejs',
    wrk: 'wrk',
    h2load: 'nghttp2-client',
    nginx: 'nginx-light',
    weighttp: null,
    ab: 'apache2-utils',
    taskset: 'util-linux',
  },
  fedora: {
    cc: 'gcc',
    'zlib.h': 'zlib-devel',
    node: 'nodejs',
    wrk: 'wrk',
    h2load: 'nghttp2',
    nginx: 'nginx',
    weighttp: null,
    ab: 'httpd-tools',
    taskset: 'util-linux',
  },
  alpine: {
    cc: 'gcc musl-dev',
    'zlib.h': 'zlib-dev',
    node: 'nodejs',
    wrk: 'wrk',
    h2load: 'nghttp2',
    nginx: 'nginx',
    weighttp: null,
    ab: 'apache2-utils',
    taskset: 'util-linux-misc',
  },
  arch: {
    cc: 'gcc',
    'zlib.h': 'zlib',
    node: 'nodejs',
    wrk: 'wrk',
    h2load: 'nghttp2',
    nginx: 'nginx',
    weighttp: null,
    ab: 'apache',
    taskset: 'util-linux',
  },
  suse: {
    cc: 'gcc',
    'zlib.h': 'zlib-devel',
    node: 'nodejs20',
    wrk: 'wrk',
    h2load: 'nghttp2',
    nginx: 'nginx',
    weighttp: null,
    ab: 'apache2-utils',
    taskset: 'util-linux',
  },
};

const INSTALLERS: Record<string, string> = {
  debian: 'apt-get install -y',
  fedora: 'dnf install -y',
  alpine: 'apk add',
  arch: 'pacman -S --needed',
  suse: 'zypper install -y',
};

/** The family of an /etc/os-release (ID, then each ID_LIKE), or null for one we do not know. */
export function distributionFamily(osRelease: string): string | null {
  const field = (name: string) =>
    new RegExp(`^${name}=("?)([^"\\n]*)\\1$`, 'm').exec(osRelease)?.[2]?.toLowerCase() ?? '';
  const ids = [field('ID'), ...field('ID_LIKE').split(/\s+/)].filter(Boolean);
  for (const id of ids) {
    if (id === 'debian' || id === 'ubuntu') return 'debian';
    if (['fedora', 'rhel', 'centos', 'rocky', 'almalinux'].includes(id)) return 'fedora';
    if (id === 'alpine' || id === 'arch') return id;
    if (id.startsWith('opensuse') || id === 'suse' || id === 'sles') return 'suse';
  }
  return null;
}

export interface InstallAdvice {
  /** The line to run there, or null when nothing missing is packaged for that family. */
  line: string | null;
  /** Binaries no package of that family provides. */
  unpackaged: string[];
}

/** One install line for everything missing on a host (sudo unless it is root there). */
export function installAdvice(
  family: string | null,
  missing: readonly string[],
  root: boolean,
): InstallAdvice {
  const table = family === null ? undefined : PACKAGES[family];
  if (table === undefined || family === null) return { line: null, unpackaged: [...missing] };
  const packages = [
    ...new Set(missing.map((b) => table[b]).filter((p): p is string => typeof p === 'string')),
  ];
  const unpackaged = missing.filter((b) => typeof table[b] !== 'string');
  const line =
    packages.length === 0 ? null : `${root ? '' : 'sudo '}${INSTALLERS[family]} ${packages.join(' ')}`;
  return { line, unpackaged };
}
