/** A `0x`-prefixed, lower-case hex string: how roots, pubkeys and signatures travel in events and logs. */
export type Hex = `0x${string}`;

const HEX = /^0x(?:[0-9a-f]{2})*$/;

export function isHex(value: unknown, bytes?: number): value is Hex {
  return typeof value === 'string' && HEX.test(value) && (bytes === undefined || value.length === 2 + 2 * bytes);
}

export function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

export function fromHex(hex: string): Uint8Array {
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) {
    throw new TypeError(`not a hex byte string: ${hex.slice(0, 20)}`);
  }
  return new Uint8Array(Buffer.from(body, 'hex'));
}
