import { dutyId, type AnyCohortEvent } from '#lib/contracts';
import { DUTY_STEP_LABELS, eventDetail } from './event-types.js';
import type { Explanation } from './explain.js';

/** `+1234 ms` / `-80 ms`: a time relative to the explanation's reference. */
export const relativeMs = (atMs: number): string => `${atMs >= 0 ? '+' : ''}${atMs} ms`;

const shortKey = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 10)}…` : hex);

/**
 * Table columns with fixed widths, so `--follow` can print rows as they come. A value wider than
 * its column pushes the row (never truncated: an operator must see the whole node or event name).
 */
const COLUMNS = [
  ['TIME', 24],
  ['SLOT', 9],
  ['DUTY', 9],
  ['NODE', 10],
  ['SERVICE', 14],
  ['EVENT', 25],
  ['VALS', 5],
] as const;

const DETAIL_MAX = 120;

function row(cells: readonly string[], detail: string): string {
  return `${cells.map((cell, i) => (i === 1 || i === 6 ? cell.padStart(COLUMNS[i]?.[1] ?? 0) : cell.padEnd(COLUMNS[i]?.[1] ?? 0))).join(' ')} ${detail}`.trimEnd();
}

export function tableHeader(): string {
  return row(
    COLUMNS.map(([name]) => name),
    'DETAIL',
  );
}

export function tableRow(event: AnyCohortEvent): string {
  const detail = eventDetail(event);
  return row(
    [event.time, String(event.duty.slot), event.duty.type, event.producer.node, event.producer.service, event.type, String(event.pubkeys.length)],
    detail.length > DETAIL_MAX ? `${detail.slice(0, DETAIL_MAX - 1)}…` : detail,
  );
}

/** One NDJSON line: the stored envelope, unchanged. */
export const ndjsonLine = (event: AnyCohortEvent): string => JSON.stringify(event);

/** The explanation as an operator reads it: verdict first, then why, then the timeline. */
export function formatExplanation(x: Explanation): string {
  const lines: string[] = [];
  const scope = x.validator !== null ? `validator ${x.validator}` : `${x.validators.length} validator(s)`;
  lines.push(`duty ${dutyId(x.duty)}${x.node !== null ? ` on ${x.node}` : ''}: ${scope}`);
  if (x.verdict === 'no_events') {
    lines.push('no events recorded for this duty');
    return `${lines.join('\n')}\n`;
  }
  const reference = new Date(x.reference.timeMs).toISOString();
  lines.push(x.reference.kind === 'slot_start' ? `times relative to the slot start (${reference})` : `times relative to the duty's first event (${reference}; genesis unknown)`);
  lines.push('');

  if (x.broadcast !== null) {
    const when = x.broadcast.firstAtMs === x.broadcast.lastAtMs ? relativeMs(x.broadcast.firstAtMs) : `${relativeMs(x.broadcast.firstAtMs)} … ${relativeMs(x.broadcast.lastAtMs)}`;
    const count = x.validator !== null ? '' : ` (${x.broadcast.validators.length} validator(s))`;
    lines.push(`${x.verdict === 'succeeded' ? 'succeeded' : 'partly succeeded'}: broadcast at ${when}${count}`);
  }
  for (const f of x.failures) {
    const count = x.validator !== null ? '' : ` (${f.validators.length} validator(s))`;
    lines.push(`failed: ${f.reason} — ${f.text}${count}`);
    lines.push(`  recorded by ${f.recordedBy.service} ${f.recordedBy.type} at ${relativeMs(f.recordedBy.atMs)}${f.recordedBy.detail ? `: ${f.recordedBy.detail}` : ''}`);
    if (f.because.length > 0) {
      lines.push('  because:');
      for (const cause of f.because) lines.push(`    ${cause}`);
    }
    if (x.validator === null && f.validators.length <= 8) lines.push(`  validators: ${f.validators.map(shortKey).join(', ')}`);
  }
  if (x.unresolved.length > 0) {
    lines.push(`no outcome recorded for ${x.unresolved.length} validator(s) (duty still in flight, or records missing)`);
  }
  lines.push(`furthest step: ${x.furthestStep === null ? 'none' : `${x.furthestStep} (${DUTY_STEP_LABELS[x.furthestStep]})`}`);

  const c = x.consensus;
  if (c.started !== null || c.timedOut !== null || c.decided !== null) {
    const parts = [
      ...(c.started !== null ? [`started at ${relativeMs(c.started.atMs)} (round ${c.started.round}, leader ${c.started.leader})`] : []),
      ...c.roundChanges.map((r) => `round ${r.from} → ${r.to} (${r.reason}) at ${relativeMs(r.atMs)}`),
      ...(c.decided !== null ? [`decided in round ${c.decided.round} at ${relativeMs(c.decided.atMs)}`] : []),
      ...(c.timedOut !== null ? [`timed out in round ${c.timedOut.round} at ${relativeMs(c.timedOut.atMs)}`] : []),
    ];
    lines.push(`consensus: ${parts.join('; ')}`);
  }
  if (x.shares.length > 0) {
    lines.push('share signatures as this node saw them:');
    for (const s of x.shares) {
      const who = s.self ? `share ${s.shareIndex} (this node)` : `share ${s.shareIndex}`;
      const reasons = [...new Set(s.rejected.map((r) => r.reason))].map((r) => `${r} ×${s.rejected.filter((x) => x.reason === r).length}`);
      const accepted = s.accepted > 0 ? `${s.accepted} accepted from ${relativeMs(s.firstAcceptedAtMs ?? 0)}` : 'none accepted';
      lines.push(`  ${who}: ${s.accepted === 0 && reasons.length === 0 ? 'nothing received' : accepted}${reasons.length > 0 ? `; rejected: ${reasons.join(', ')}` : ''}`);
    }
  }

  if (x.peerRefusals.length > 0) {
    lines.push('peer messages refused:');
    for (const r of x.peerRefusals) {
      const who = r.peer === null ? 'a non-operator' : `operator ${r.peer}`;
      lines.push(`  ${who} ${r.protocol}: ${r.reason} ×${r.count} from ${relativeMs(r.firstAtMs)} (${r.text})${r.detail ? `; first: ${r.detail}` : ''}`);
    }
  }

  lines.push('', 'timeline:');
  const width = Math.max(...x.timeline.map((t) => relativeMs(t.atMs).length));
  for (const t of x.timeline) {
    lines.push(`  ${relativeMs(t.atMs).padStart(width)}  ${t.service.padEnd(14)} ${t.type.padEnd(25)} ${String(t.validators).padStart(5)}  ${t.detail}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
