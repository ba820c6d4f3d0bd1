import { dutyId, type Duty, type Hex, type UnsignedDataSet, type ValidatorDuty } from '#lib/contracts';

/**
 * What the gateway may serve, per duty: the scheduled duties, the decided value and which
 * validators the slashing guard has recorded it for. Serving waits for both (write-ahead).
 * A `signed`-flow duty (selection proofs) has its combined signatures here instead.
 */
export interface DutyView {
  duties?: readonly ValidatorDuty[];
  decided?: { readonly valueHash: Hex; readonly value: UnsignedDataSet };
  approved: Set<Hex>;
  refused: Set<Hex>;
  /**
   * Group signatures combined for a `signed`-flow duty: selection proofs by group pubkey, or by
   * syncSelectionKey for a sync committee member's per-subcommittee proofs.
   */
  combined: Map<string, Hex>;
}

/** Duties this far behind the newest one seen are forgotten. */
const KEPT_SLOTS = 64;

export class DecidedValues {
  private readonly duties = new Map<string, { readonly slot: number; readonly view: DutyView }>();
  private readonly waiters = new Map<string, Set<() => void>>();

  view(duty: Duty): DutyView {
    const key = dutyId(duty);
    let entry = this.duties.get(key);
    if (!entry) {
      entry = { slot: duty.slot, view: { approved: new Set(), refused: new Set(), combined: new Map() } };
      this.duties.set(key, entry);
      for (const [k, e] of this.duties) if (e.slot < duty.slot - KEPT_SLOTS) this.duties.delete(k);
    }
    return entry.view;
  }

  changed(duty: Duty): void {
    for (const wake of this.waiters.get(dutyId(duty)) ?? []) wake();
  }

  /** Resolves when `ready(view)` holds, or with undefined at `deadlineMs` / abort. */
  async waitFor<T>(duty: Duty, ready: (view: DutyView) => T | undefined, deadlineMs: number, signal?: AbortSignal): Promise<T | undefined> {
    const now = ready(this.view(duty));
    if (now !== undefined) return now;
    const key = dutyId(duty);
    return new Promise<T | undefined>((resolve) => {
      const waiters = this.waiters.get(key) ?? new Set();
      this.waiters.set(key, waiters);
      const finish = (value: T | undefined) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (waiters.size === 0) this.waiters.delete(key);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const check = () => {
        const value = ready(this.view(duty));
        if (value !== undefined) finish(value);
      };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.max(0, deadlineMs - Date.now()));
      signal?.addEventListener('abort', onAbort);
      waiters.add(check);
    });
  }
}
