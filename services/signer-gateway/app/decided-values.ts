import type { AttesterDuty, Hex, UnsignedDataSet } from '#lib/contracts';

/**
 * What the gateway may serve, per slot: the scheduled duties, the decided value and which
 * validators the slashing guard has recorded it for. Serving waits for both (write-ahead).
 */
export interface SlotView {
  duties?: readonly AttesterDuty[];
  decided?: { readonly valueHash: Hex; readonly value: UnsignedDataSet };
  approved: Set<Hex>;
  refused: Set<Hex>;
}

export class DecidedValues {
  private readonly slots = new Map<number, SlotView>();
  private readonly waiters = new Map<number, Set<() => void>>();

  view(slot: number): SlotView {
    let view = this.slots.get(slot);
    if (!view) {
      view = { approved: new Set(), refused: new Set() };
      this.slots.set(slot, view);
      for (const s of this.slots.keys()) if (s < slot - 64) this.slots.delete(s);
    }
    return view;
  }

  changed(slot: number): void {
    for (const wake of this.waiters.get(slot) ?? []) wake();
  }

  /** Resolves when `ready(view)` holds, or with undefined at `deadlineMs` / abort. */
  async waitFor<T>(slot: number, ready: (view: SlotView) => T | undefined, deadlineMs: number, signal?: AbortSignal): Promise<T | undefined> {
    const now = ready(this.view(slot));
    if (now !== undefined) return now;
    return new Promise<T | undefined>((resolve) => {
      const waiters = this.waiters.get(slot) ?? new Set();
      this.waiters.set(slot, waiters);
      const finish = (value: T | undefined) => {
        clearTimeout(timer);
        waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const check = () => {
        const value = ready(this.view(slot));
        if (value !== undefined) finish(value);
      };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.max(0, deadlineMs - Date.now()));
      signal?.addEventListener('abort', onAbort);
      waiters.add(check);
    });
  }
}
