import { describe, expect, it } from 'vitest';
import { FAILURE_REASONS, PEER_REFUSAL_REASONS, REJECTION_REASONS, SLASHING_REFUSAL_REASONS, type AnyCohortEvent } from '#lib/contracts';
import {
  DEADLINE_MS,
  DUTY,
  GENESIS_MS,
  SECONDS_PER_SLOT,
  SELF_SHARE,
  VALIDATORS,
  broadcastFailedRun,
  event,
  insufficientPartialsRun,
  mixedRun,
  noConsensusRun,
  noLocalSignatureRun,
  slashingRefusedRun,
  successRun,
} from './duty-events.fixture.js';
import { AmbiguousNodeError, explain, reasonOf } from './explain.js';
import { formatExplanation } from './format.js';

const timing = { genesisTimeMs: GENESIS_MS, secondsPerSlot: SECONDS_PER_SLOT };
const [v0, v1, v2, v3] = VALIDATORS as [string, string, string, string] as unknown as [`0x${string}`, `0x${string}`, `0x${string}`, `0x${string}`];

describe('explain: one verdict and one catalog reason per outcome', () => {
  it('success: broadcast at its time relative to the slot start, every step reached, every share seen', () => {
    const x = explain(successRun(), DUTY, { timing, operators: 4 });
    expect(x.verdict).toBe('succeeded');
    expect(x.failures).toEqual([]);
    expect(x.broadcast).toEqual({ validators: VALIDATORS, firstAtMs: 4400, lastAtMs: 4400 });
    expect(x.furthestStep).toBe('broadcast');
    expect(x.reference).toEqual({ kind: 'slot_start', timeMs: GENESIS_MS + DUTY.slot * SECONDS_PER_SLOT * 1000 });
    // the duty is scheduled an epoch ahead: before the slot start
    expect(x.timeline[0]).toMatchObject({ type: 'DutyScheduled', atMs: -32 * SECONDS_PER_SLOT * 1000, step: 'scheduled', validators: 4 });
    expect(x.timeline.map((t) => t.atMs)).toEqual([...x.timeline.map((t) => t.atMs)].sort((a, b) => a - b));
    expect(x.shares.map((s) => [s.shareIndex, s.self, s.accepted, s.firstAcceptedAtMs])).toEqual([
      [1, true, 4, 4300],
      [2, false, 4, 4320],
      [3, false, 4, 4350],
      [4, false, 0, null],
    ]);
    expect(x.consensus.decided).toMatchObject({ round: 1, atMs: 4100 });
    const text = formatExplanation(x);
    expect(text).toContain('succeeded: broadcast at +4400 ms (4 validator(s))');
    expect(text).toContain('furthest step: broadcast');
    expect(text).toContain('share 4: nothing received');
  });

  it('no_consensus: the round changes and the timeout are the facts behind it', () => {
    const x = explain(noConsensusRun(), DUTY, { timing });
    expect(x.verdict).toBe('failed');
    expect(x.failures).toHaveLength(1);
    const [f] = x.failures;
    expect(f?.reason).toBe('no_consensus');
    expect(f?.text).toBe(FAILURE_REASONS.no_consensus);
    expect(f?.validators).toEqual(VALIDATORS);
    expect(f?.recordedBy).toMatchObject({ service: 'aggregator', type: 'DutyFailed', atMs: DEADLINE_MS });
    expect(f?.because).toEqual([
      'consensus started at +4002 ms (round 1, leader 2)',
      'round changes: 1→2 timeout at +5002 ms, 2→3 timeout at +7002 ms',
      `timed out in round 3 at +${DEADLINE_MS} ms`,
      'no value decided',
    ]);
    expect(x.furthestStep).toBe('consensus_started');
    expect(formatExplanation(x)).toContain(`failed: no_consensus — ${FAILURE_REASONS.no_consensus} (4 validator(s))`);
  });

  it('no_consensus from ConsensusTimedOut alone, before the aggregator has recorded anything', () => {
    const x = explain(noConsensusRun().filter((e) => e.type !== 'DutyFailed'), DUTY);
    expect(x.failures.map((f) => [f.reason, f.recordedBy.type])).toEqual([['no_consensus', 'ConsensusTimedOut']]);
  });

  it('slashing_refused: the EIP-3076 rule the guard applied, with its text', () => {
    const x = explain(slashingRefusedRun(), DUTY, { timing });
    expect(x.verdict).toBe('failed');
    expect(x.failures.map((f) => f.reason)).toEqual(['slashing_refused']);
    expect(x.failures[0]?.text).toBe(FAILURE_REASONS.slashing_refused);
    expect(x.failures[0]?.because[0]).toBe(`slashing guard refused 4 validator(s): double_vote (${SLASHING_REFUSAL_REASONS.double_vote})`);
    expect(x.furthestStep).toBe('decided');
    // without the aggregator's verdict, the refusal itself names the reason
    const early = explain(slashingRefusedRun().filter((e) => e.type !== 'DutyFailed'), DUTY);
    expect(early.failures.map((f) => [f.reason, f.recordedBy.type])).toEqual([['slashing_refused', 'ProposalRefused']]);
  });

  it('insufficient_partial_signatures: share 3 rejected as invalid_signature, share 4 silent', () => {
    const x = explain(insufficientPartialsRun(), DUTY, { timing, operators: 4 });
    expect(x.verdict).toBe('failed');
    expect(x.failures.map((f) => f.reason)).toEqual(['insufficient_partial_signatures']);
    expect(x.furthestStep).toBe('signed');
    const share3 = x.shares.find((s) => s.shareIndex === 3);
    expect(share3?.accepted).toBe(0);
    expect(share3?.rejected.map((r) => [r.pubkey, r.reason])).toEqual(VALIDATORS.map((p) => [p, 'invalid_signature']));
    expect(x.failures[0]?.because).toEqual([
      'share 1 (this node): 4 accepted from +4300 ms',
      'share 2: 4 accepted from +4320 ms',
      `share 3: none accepted; rejected: invalid_signature ×4 (${REJECTION_REASONS.invalid_signature})`,
      'share 4: nothing received',
    ]);
  });

  it('bn_broadcast_failed: the BN error is the detail, aggregation was reached', () => {
    const x = explain(broadcastFailedRun(), DUTY, { timing });
    expect(x.verdict).toBe('failed');
    expect(x.failures.map((f) => [f.reason, f.recordedBy.type, f.recordedBy.detail])).toEqual([
      ['bn_broadcast_failed', 'BroadcastFailed', 'Error: 400 Bad Request: attestation signature invalid'],
    ]);
    expect(x.furthestStep).toBe('aggregated');
    expect(formatExplanation(x)).toContain('recorded by aggregator BroadcastFailed at +4400 ms: Error: 400 Bad Request');
  });

  it('no_local_signature: this node\'s VC was served and its submissions refused', () => {
    const x = explain(noLocalSignatureRun(), DUTY, { timing });
    expect(x.verdict).toBe('failed');
    expect(x.failures.map((f) => f.reason)).toEqual(['no_local_signature']);
    expect(x.furthestStep).toBe('served');
    expect(x.failures[0]?.because).toEqual([
      `this node's VC submitted, and was refused: invalid_signature ×4 (${REJECTION_REASONS.invalid_signature})`,
      'decided data served to the VC at +4200 ms',
    ]);
    const own = x.shares.find((s) => s.shareIndex === SELF_SHARE);
    expect(own).toMatchObject({ self: true, accepted: 0 });
    expect(x.shares.filter((s) => !s.self).map((s) => s.accepted)).toEqual([4, 4, 4]);
  });

  it('a silent VC (nothing submitted) says so', () => {
    const events = noLocalSignatureRun().filter((e) => !(e.type === 'PartialSignaturesRejected'));
    expect(explain(events, DUTY, { timing }).failures[0]?.because).toEqual(['decided data served to the VC at +4200 ms', "no share signature arrived from this node's VC"]);
  });
});

describe('explain: per validator', () => {
  it('mixed duty: partly failed overall, each validator its own outcome', () => {
    const x = explain(mixedRun(), DUTY, { timing });
    expect(x.verdict).toBe('partly_failed');
    expect(x.broadcast?.validators).toEqual([v2, v3]);
    expect(x.failures.map((f) => [f.reason, f.validators])).toEqual([['slashing_refused', [v0, v1]]]);
    expect(VALIDATORS.map((v) => reasonOf(x, v))).toEqual(['slashing_refused', 'slashing_refused', 'broadcast', 'broadcast']);

    const refused = explain(mixedRun(), DUTY, { timing, validator: v1 });
    expect(refused.verdict).toBe('failed');
    expect(refused.validators).toEqual([v1]);
    expect(refused.failures[0]?.because[0]).toBe(`slashing guard refused 1 validator(s): surrounds_previous (${SLASHING_REFUSAL_REASONS.surrounds_previous})`);
    // only the events naming v1 (or no validator) are in its timeline
    expect(refused.timeline.map((t) => t.type)).not.toContain('Broadcast');
    expect(refused.furthestStep).toBe('served');
    expect(formatExplanation(refused)).toContain(`validator ${v1}`);

    const ok = explain(mixedRun(), DUTY, { timing, validator: v3 });
    expect(ok.verdict).toBe('succeeded');
    expect(ok.shares.map((s) => [s.shareIndex, s.accepted])).toEqual([[1, 1], [2, 1], [3, 1]]);
    expect(formatExplanation(ok)).toContain('succeeded: broadcast at +4400 ms\n');
  });

  it('a validator the duty never named has no events', () => {
    const x = explain(successRun(), DUTY, { validator: `0x${'ee'.repeat(48)}` });
    expect(x.timeline).toEqual([]);
    expect(x.verdict).toBe('unfinished');
    expect(x.unresolved).toEqual([`0x${'ee'.repeat(48)}`]);
  });
});

describe('explain: references, scope and robustness', () => {
  it('without genesis, times are relative to the first event', () => {
    const x = explain(successRun(), DUTY);
    expect(x.reference.kind).toBe('first_event');
    expect(x.timeline[0]?.atMs).toBe(0);
    expect(x.broadcast?.firstAtMs).toBe(4400 + 32 * SECONDS_PER_SLOT * 1000);
    expect(formatExplanation(x)).toContain("relative to the duty's first event");
  });

  it('ignores other duties, and refuses to mix nodes unless one is chosen', () => {
    const other = event('DutyFailed', 'aggregator', 0, VALIDATORS, { reason: 'no_consensus', detail: '' }, { duty: { slot: DUTY.slot + 1, type: 'attester' } });
    expect(explain([...successRun(), other], DUTY).verdict).toBe('succeeded');

    const node1 = noConsensusRun().map((e) => ({ ...e, producer: { ...e.producer, node: 'node1' } })) as AnyCohortEvent[];
    const merged = [...successRun(), ...node1];
    expect(() => explain(merged, DUTY)).toThrow(AmbiguousNodeError);
    expect(() => explain(merged, DUTY)).toThrow(/node0, node1/);
    expect(explain(merged, DUTY, { node: 'node0' }).verdict).toBe('succeeded');
    expect(explain(merged, DUTY, { node: 'node1' }).failures[0]?.reason).toBe('no_consensus');
  });

  it('no events: says so', () => {
    const x = explain([], DUTY);
    expect(x.verdict).toBe('no_events');
    expect(formatExplanation(x)).toBe('duty 100/attester: 0 validator(s)\nno events recorded for this duty\n');
  });

  it('an event type this build does not know is shown, not interpreted', () => {
    const future = { ...event('Broadcast', 'aggregator', 5000, VALIDATORS, { count: 4 }), type: 'SomethingNew', data: { x: 1 } } as unknown as AnyCohortEvent;
    const x = explain([...successRun(), future], DUTY, { timing });
    expect(x.verdict).toBe('succeeded');
    expect(x.timeline.at(-1)).toMatchObject({ type: 'SomethingNew', step: null, detail: '' });
  });

  it('an unfinished duty (before the deadline) reports the furthest step and no reason', () => {
    const x = explain(successRun().slice(0, 6), DUTY, { timing });
    expect(x.verdict).toBe('unfinished');
    expect(x.furthestStep).toBe('served');
    expect(x.unresolved).toEqual(VALIDATORS);
    expect(formatExplanation(x)).toContain('no outcome recorded for 4 validator(s)');
  });
});

describe('explain: refused peer messages (PeerMessageRefused)', () => {
  const refused = (atMs: number, reason: 'equivocation' | 'duplicate', count: number, window: number) =>
    event(
      'PeerMessageRefused',
      'consensus',
      atMs,
      [],
      {
        peer: 3,
        protocol: 'qbft',
        reason,
        count,
        firstAt: new Date(GENESIS_MS + DUTY.slot * SECONDS_PER_SLOT * 1000 + 4050).toISOString(),
        lastAt: new Date(GENESIS_MS + DUTY.slot * SECONDS_PER_SLOT * 1000 + 4090).toISOString(),
        detail: 'PRE-PREPARE round 1 value 0x1234abcd…',
      },
      { discriminator: `w${window}:3:qbft:${reason}` },
    ) as AnyCohortEvent;

  it('lists them per peer, protocol and reason, summed over windows, with the catalog text; the outcome is unchanged', () => {
    const events = [...successRun(), refused(12_000, 'equivocation', 2, DUTY.slot), refused(24_000, 'equivocation', 1, DUTY.slot + 1)];
    const x = explain(events, DUTY, { timing });
    expect(x.verdict).toBe('succeeded');
    expect(x.peerRefusals).toEqual([
      {
        peer: 3,
        protocol: 'qbft',
        reason: 'equivocation',
        text: PEER_REFUSAL_REASONS.equivocation,
        count: 3,
        service: 'consensus',
        firstAtMs: 4050,
        detail: 'PRE-PREPARE round 1 value 0x1234abcd…',
      },
    ]);
    expect(x.timeline.filter((t) => t.type === 'PeerMessageRefused').map((t) => t.detail)).toEqual([
      'operator 3 qbft: equivocation ×2 (PRE-PREPARE round 1 value 0x1234abcd…)',
      'operator 3 qbft: equivocation (PRE-PREPARE round 1 value 0x1234abcd…)',
    ]);
    const text = formatExplanation(x);
    expect(text).toContain('peer messages refused:');
    expect(text).toContain(`operator 3 qbft: equivocation ×3 from +4050 ms (${PEER_REFUSAL_REASONS.equivocation}); first: PRE-PREPARE round 1 value 0x1234abcd…`);
  });

  it('none recorded: no section', () => {
    const x = explain(successRun(), DUTY, { timing });
    expect(x.peerRefusals).toEqual([]);
    expect(formatExplanation(x)).not.toContain('peer messages refused');
  });
});
