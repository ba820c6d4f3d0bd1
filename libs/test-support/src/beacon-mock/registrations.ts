import { PublicKey, Signature, verify } from '@chainsafe/blst';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fromHex, isHex, type Hex } from '#lib/contracts';
import { builderRegistrationSigningRoot } from '#lib/signing';
import { errorBody, indexedErrorBody, type IndexedFailure } from './api-errors.js';

/**
 * `POST /eth/v1/validator/register_validator` (apis/validator/register_validator.yaml): a BN
 * passes registrations on to its builders; the mock checks each as a builder would — a
 * validator of this chain, signed by its key under DOMAIN_APPLICATION_BUILDER with the genesis
 * fork version (builder-specs) — and keeps the newest per validator.
 */
export interface AcceptedRegistration {
  readonly pubkey: Hex;
  readonly feeRecipient: Hex;
  readonly gasLimit: string;
  readonly timestamp: string;
  readonly receivedAtMs: number;
  readonly count: number;
  /** The chain's slot at each receipt, oldest first (a node passes the registration on every epoch). */
  readonly receivedAtSlots: readonly number[];
}

export interface RegistrationContext {
  readonly genesisForkVersion: Hex;
  readonly validatorPubkeys: readonly Hex[];
  readonly reject: (reason: string, body: unknown) => void;
  readonly currentSlot: () => number;
}

const UINT64 = /^(0|[1-9][0-9]{0,19})$/;

export function registerBuilderRegistrationRoute(app: FastifyInstance, ctx: RegistrationContext): { readonly acceptedRegistrations: readonly AcceptedRegistration[] } {
  const acceptedRegistrations: AcceptedRegistration[] = [];
  const known = new Set(ctx.validatorPubkeys);
  app.post('/eth/v1/validator/register_validator', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const body = request.body;
    if (!Array.isArray(body)) {
      ctx.reject('body is not an array of SignedValidatorRegistrationV1', body);
      return reply.code(400).send(errorBody(400, 'body must be an array of SignedValidatorRegistrationV1 objects'));
    }
    const failures: IndexedFailure[] = [];
    body.forEach((item: { message?: Record<string, unknown>; signature?: unknown } | null, index) => {
      const fail = (message: string) => {
        failures.push({ index, message });
        ctx.reject(message, item);
      };
      const m = item?.message ?? {};
      const [feeRecipient, gasLimit, timestamp, pubkey, signature] = [m['fee_recipient'], m['gas_limit'], m['timestamp'], m['pubkey'], item?.signature];
      if (!isHex(feeRecipient, 20) || typeof gasLimit !== 'string' || !UINT64.test(gasLimit) || typeof timestamp !== 'string' || !UINT64.test(timestamp) || !isHex(pubkey, 48) || !isHex(signature, 96)) {
        return fail('malformed SignedValidatorRegistrationV1');
      }
      if (!known.has(pubkey)) return fail(`${pubkey} is not a validator of this chain`);
      const message = { fee_recipient: feeRecipient, gas_limit: gasLimit, timestamp, pubkey };
      let valid = false;
      try {
        valid = verify(fromHex(builderRegistrationSigningRoot(ctx.genesisForkVersion, message)), PublicKey.fromBytes(fromHex(pubkey)), Signature.fromBytes(fromHex(signature), true));
      } catch {
        valid = false;
      }
      if (!valid) return fail(`invalid signature for the registration of ${pubkey}`);
      const at = acceptedRegistrations.findIndex((r) => r.pubkey === pubkey);
      const previous = at === -1 ? undefined : (acceptedRegistrations[at] as AcceptedRegistration);
      const receivedAtSlots = [...(previous?.receivedAtSlots ?? []), ctx.currentSlot()];
      const accepted = { pubkey, feeRecipient, gasLimit, timestamp, receivedAtMs: Date.now(), count: receivedAtSlots.length, receivedAtSlots };
      if (at === -1) acceptedRegistrations.push(accepted);
      else acceptedRegistrations[at] = accepted;
    });
    if (failures.length > 0) return reply.code(400).send(indexedErrorBody(failures, 'registration(s)'));
    return reply.code(200).send();
  });
  return { acceptedRegistrations };
}
