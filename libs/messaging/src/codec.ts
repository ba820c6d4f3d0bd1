const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * JSON on the wire. `undefined` travels as `null` so a payload always decodes; bytes and bigints
 * must already be hex/strings (they are, at event and message boundaries).
 */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value ?? null));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return (bytes.length === 0 ? null : JSON.parse(decoder.decode(bytes))) as T;
}
