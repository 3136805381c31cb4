// Which webhook keys exist. Real keys are lowercase UUIDs; we accept either hex case so a key
// pasted in upper case still works against an open simulator.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** With a key list only those keys exist; without one any UUID-shaped key does. */
export function keyDirectory(keys: readonly string[] | undefined): (key: string) => boolean {
  if (keys && keys.length > 0) {
    const known = new Set(keys);
    return (key) => known.has(key);
  }
  return (key) => UUID.test(key);
}
