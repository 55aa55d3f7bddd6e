/**
 * A short, stable digest of a text: 64-bit FNV-1a over its UTF-16 code units, as 16 hex
 * digits. Not for security or artifact identity (those use SHA-256 in artifacts/hash.ts):
 * it names a step's activity by its params and inputs inside Temporal workflow code,
 * whose sandbox has no crypto module, so a replay notices changed params. Hand-written
 * because it is eight lines and no dependency is worth adding to the workflow bundle.
 */
export function fingerprint(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}
