import { SecretKey } from '@chainsafe/blst';
import { ssz } from '@lodestar/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex, type Hex } from '#lib/contracts';
import { computeDomain, computeSigningRoot, DomainType } from '#lib/signing';
import { startBeaconMock, type BeaconMock } from './beacon-mock.js';

/**
 * The mock's `register_validator`: it takes a registration signed by a chain validator's key
 * under DOMAIN_APPLICATION_BUILDER with the genesis fork version and a zero root (builder-specs),
 * the root computed here with Lodestar's container, and refuses anything else.
 */
const keys = [1, 2, 3].map((i) => SecretKey.fromKeygen(new Uint8Array(32).fill(i)));
const pubkeyOf = (i: number): Hex => toHex(keys[i]!.toPublicKey().toBytes());

describe('beacon mock: builder registrations', () => {
  let mock: BeaconMock;
  beforeAll(async () => {
    mock = await startBeaconMock({ validators: [0, 1].map((i) => ({ pubkey: pubkeyOf(i) })) });
  });
  afterAll(() => mock.stop());

  const registration = (signer: number, pubkey: Hex, feeRecipient: Hex = `0x${'aa'.repeat(20)}`) => {
    const message = { fee_recipient: feeRecipient, gas_limit: '30000000', timestamp: '1700000000', pubkey };
    const root = computeSigningRoot(
      ssz.bellatrix.ValidatorRegistrationV1.hashTreeRoot(ssz.bellatrix.ValidatorRegistrationV1.fromJson(message)),
      computeDomain(DomainType.APPLICATION_BUILDER, mock.spec['GENESIS_FORK_VERSION'] as Hex, `0x${'00'.repeat(32)}`),
    );
    return { message, signature: toHex(keys[signer]!.sign(Buffer.from(root.slice(2), 'hex')).toBytes()) };
  };
  const post = async (body: unknown) => {
    const response = await fetch(new URL('/eth/v1/validator/register_validator', mock.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as { failures?: { index: number; message: string }[] }) : undefined };
  };

  it('takes a registration signed by the validator, keeping the newest per validator', async () => {
    expect((await post([registration(0, pubkeyOf(0))])).status).toBe(200);
    expect((await post([registration(0, pubkeyOf(0), `0x${'bb'.repeat(20)}`)])).status).toBe(200);
    expect(mock.acceptedRegistrations).toEqual([expect.objectContaining({ pubkey: pubkeyOf(0), feeRecipient: `0x${'bb'.repeat(20)}`, count: 2 })]);
  });

  it('refuses another key\'s signature, an unknown validator and a malformed item, naming each', async () => {
    const rejectedBefore = mock.rejected.length;
    const answer = await post([registration(2, pubkeyOf(1)), registration(2, pubkeyOf(2)), { message: { pubkey: pubkeyOf(1) } }, registration(1, pubkeyOf(1))]);
    expect(answer.status).toBe(400);
    expect(answer.body?.failures).toEqual([
      { index: 0, message: expect.stringMatching(/invalid signature/) },
      { index: 1, message: expect.stringMatching(/not a validator of this chain/) },
      { index: 2, message: 'malformed SignedValidatorRegistrationV1' },
    ]);
    expect(mock.rejected.length - rejectedBefore).toBe(3);
    expect(mock.acceptedRegistrations.map((r) => r.pubkey)).toEqual([pubkeyOf(0), pubkeyOf(1)]);
  });
});
