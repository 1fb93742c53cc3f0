/** `*` matches any characters; everything else literally; case-insensitive. */
export function globMatch(pattern: string, value: string | null): boolean {
  if (value === null) return pattern === '*';
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(value);
}
