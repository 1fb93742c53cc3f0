/** Loopback addressing: host i <-> 127.(20 + ⌊(i+1)/65536⌋).(⌊(i+1)/256⌋ % 256).((i+1) % 256). */

/** Loopback address of host `index` (0-based): host 0 is 127.20.0.1. */
export function loopbackAddress(index: number): string {
  const a = index + 1;
  return `127.${20 + Math.floor(a / 65536)}.${Math.floor(a / 256) % 256}.${a % 256}`;
}

/** Host index of a local address (IPv4 or IPv4-mapped IPv6), or undefined if it is not a host address. */
export function loopbackIndex(address: string | undefined, hosts: number): number | undefined {
  if (!address) return undefined;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  if (!m) return undefined;
  const [b, c, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (b < 20 || b > 255 || c > 255 || d > 255) return undefined;
  const index = (b - 20) * 65536 + c * 256 + d - 1;
  return index >= 0 && index < hosts ? index : undefined;
}

/** Hostname reported by host `index`: `<prefix>-00001` for host 0. */
export function hostnameOf(prefix: string, index: number): string {
  return `${prefix}-${String(index + 1).padStart(5, '0')}`;
}

/** Whether a socket's local address is a loopback one (127.0.0.0/8, ::1, IPv4-mapped 127.x). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || v4.startsWith('127.');
}
