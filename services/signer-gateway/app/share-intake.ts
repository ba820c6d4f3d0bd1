import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import type { ChainContext } from '#lib/beacon';
import { verify as blsVerify } from '#lib/bls';
import { fromHex, type DutyType, type Hex, type PartialSignature, type RejectionReason } from '#lib/contracts';
import type { ServiceRuntime } from '#lib/service-kit';

/** Beacon API error body (`ErrorMessage` / `IndexedErrorMessage` in the OpenAPI definition). */
export const apiError = (code: number, message: string, failures?: { index: number; message: string }[]) => ({
  code,
  message,
  ...(failures ? { failures } : {}),
});

/**
 * How a VC's share signatures come in, whatever the route: JSON bodies read once, each share
 * verified against this node's public share of its validator, accepted and refused shares
 * recorded as events, and the VC answered in the Beacon API's error shape.
 */
export class ShareIntake {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly shareIndex: number,
    private readonly publicShareOf: ReadonlyMap<Hex, Hex>,
    private readonly requests: Counter,
    private readonly chain: () => ChainContext | undefined,
  ) {}

  /** A share signature checked against this node's public share of the validator. */
  verifiedShare(slot: number, pubkey: Hex, signingRoot: Hex, signature: string, object?: Readonly<Record<string, string>>): Accepted {
    const publicShare = this.publicShareOf.get(pubkey);
    let valid = false;
    try {
      valid = !!publicShare && blsVerify(fromHex(publicShare), fromHex(signingRoot), fromHex(signature));
    } catch {
      valid = false;
    }
    if (!valid) return { slot, pubkey, reason: 'invalid_signature', detail: "the signature does not verify under this node's public share" };
    return { slot, partial: { pubkey, shareIndex: this.shareIndex, signingRoot, signature: signature.toLowerCase() as Hex, ...(object && { object }) } };
  }

  /** Parses a JSON array body, answering 400 itself when it is not one. */
  jsonArray(req: FastifyRequest, reply: FastifyReply, what: string): unknown[] | undefined {
    const parsed = this.jsonBody(req, reply, `an array of ${what}`);
    if (parsed && !Array.isArray(parsed.body)) {
      void reply.code(400).send(apiError(400, `expected an array of ${what}`));
      return undefined;
    }
    return parsed?.body as unknown[] | undefined;
  }

  /** Parses a JSON body once the chain is known, answering 400 (not JSON) or 503 (starting) itself. */
  jsonBody(req: FastifyRequest, reply: FastifyReply, what: string): { readonly body: unknown; readonly chain: ChainContext } | undefined {
    let body: unknown;
    try {
      body = JSON.parse(String(req.body ?? ''));
    } catch {
      void reply.code(400).send(apiError(400, `body is not JSON: expected ${what}`));
      return undefined;
    }
    const chain = this.chain();
    if (!chain) {
      void reply.code(503).send(apiError(503, 'node is starting'));
      return undefined;
    }
    return { body, chain };
  }

  /**
   * The common end of every share-signature route: accepted shares are recorded per slot
   * (PartialSignatureSubmitted), refused ones too (PartialSignaturesRejected: the VC signed, and
   * this is why it did not count), and the VC gets 200 or an IndexedErrorMessage.
   */
  async acceptShares(reply: FastifyReply, type: DutyType, route: string, items: readonly unknown[], accept: (item: unknown) => Accepted): Promise<void> {
    const failures = await this.recordShares(type, route, items, accept);
    if (failures.length > 0) return void reply.code(400).send(apiError(400, `some ${route} submissions were refused`, failures));
    await reply.code(200).send();
  }

  /** Records the accepted and refused shares of a submission; returns the refusals as IndexedErrorMessage failures. */
  async recordShares(type: DutyType, route: string, items: readonly unknown[], accept: (item: unknown) => Accepted): Promise<{ index: number; message: string }[]> {
    const failures: { index: number; message: string }[] = [];
    const accepted = new Map<number, PartialSignature[]>();
    const refused = new Map<number, Refusal[]>();
    items.forEach((item, index) => {
      const outcome = accept(item);
      if ('partial' in outcome) {
        accepted.set(outcome.slot, [...(accepted.get(outcome.slot) ?? []), outcome.partial]);
        return;
      }
      failures.push({ index, message: `${outcome.reason}: ${outcome.detail}` });
      if (outcome.slot !== undefined) refused.set(outcome.slot, [...(refused.get(outcome.slot) ?? []), outcome]);
    });
    for (const [slot, partials] of accepted) {
      // A validator may sign several roots in one duty (sync subcommittees): the root is part of what makes the event distinct.
      await this.rt.events.record('PartialSignatureSubmitted', { slot, type }, [...new Set(partials.map((p) => p.pubkey))], { partials }, {
        discriminator: partials.map((p) => `${p.pubkey.slice(2, 10)}${p.signingRoot.slice(2, 6)}`).join(''),
      });
    }
    await this.recordRejections(type, refused);
    this.requests.inc({ route, outcome: failures.length > 0 ? '400' : '200' });
    if (failures.length > 0) this.rt.log.warn('VC submitted share signatures that were refused', { route, count: failures.length, first: failures[0]?.message });
    return failures;
  }

  async recordRejections(type: DutyType, refused: ReadonlyMap<number, readonly Refusal[]>): Promise<void> {
    for (const [slot, refusals] of refused) {
      const rejections = refusals.map((r) => ({ pubkey: r.pubkey ?? ('0x' as Hex), reason: r.reason }));
      await this.rt.events
        .record('PartialSignaturesRejected', { slot, type }, [...new Set(refusals.flatMap((r) => (r.pubkey ? [r.pubkey] : [])))], {
          shareIndex: this.shareIndex,
          rejections,
        }, { discriminator: `refused-${createHash('sha256').update(JSON.stringify(rejections)).digest('hex').slice(0, 16)}` })
        .catch((error: unknown) => this.rt.log.warn('could not record PartialSignaturesRejected', { error: String(error) }));
    }
  }
}

/** A VC share signature that counts: the slot it belongs to and its partial. */
export type Accepted = { readonly slot: number; readonly partial: PartialSignature } | Refusal;

/** Why a VC's share signature was refused; slot and pubkey when it could be attributed. */
export interface Refusal {
  readonly slot?: number;
  readonly pubkey?: Hex;
  readonly reason: RejectionReason;
  readonly detail: string;
}
