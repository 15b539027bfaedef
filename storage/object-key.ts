// What an object key may be, checked by both drivers before any I/O. Its own module so the drivers need only
// types from blob-store.ts, which loads them: no import cycle between the interface and its implementations.

/** Keys are relative paths of safe segments, so the filesystem driver can never escape its directory. */
export function assertValidKey(key: string): void {
  const segments = key.split('/');
  const valid =
    key.length > 0 &&
    key.length <= 512 &&
    segments.every((s) => s.length > 0 && s !== '.' && s !== '..' && /^[\w.@=+-]+$/.test(s));
  if (!valid) throw new Error(`invalid object key: ${JSON.stringify(key.slice(0, 80))}`);
}
