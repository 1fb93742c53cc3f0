import { readFileSync } from 'node:fs';

/** `0100007F` (/proc/net/tcp, little-endian hex) -> `127.0.0.1`; IPv6 all-zero -> `::`, else `[hex]`. */
function addressOf(hex: string): string {
  if (hex.length === 8) return hex.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join('.');
  if (/^0+$/.test(hex)) return '::';
  if (hex === '00000000000000000000000001000000') return '::1';
  return `[${hex}]`;
}

/**
 * Local addresses of the TCP sockets listening on `port`, as the kernel
 * lists them (/proc/net/tcp and tcp6), sorted: what a port scan from another
 * machine could or could not reach, whichever process opened them.
 */
export function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== '0A') continue; // 0A: LISTEN
      const [address, localPort] = fields[1].split(':');
      if (localPort === hexPort) found.push(addressOf(address));
    }
  }
  return found.sort();
}
