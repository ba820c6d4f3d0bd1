import { describe, expect, it } from 'vitest';
import { attestationDueMs, catchUpFromMs, dutyDeadlineMs, slotAt, slotStartMs, type SlotTiming } from './slot-clock.js';

const minimal: SlotTiming = { genesisTimeMs: 1_000_000, secondsPerSlot: 2, slotsPerEpoch: 8 };

describe('slot clock', () => {
  it('maps times to slots and back; before genesis is slot 0', () => {
    expect(slotAt(minimal, 0)).toBe(0);
    expect(slotAt(minimal, 1_000_000 + 2_000 * 13 + 1_999)).toBe(13);
    expect(slotStartMs(minimal, 13)).toBe(1_000_000 + 26_000);
    expect(attestationDueMs(minimal, 13)).toBe(1_000_000 + 26_000 + 666);
    expect(dutyDeadlineMs(minimal, { slot: 13, type: 'attester' })).toBe(slotStartMs(minimal, 15));
  });

  it('catches up from the start of the previous epoch, where the current epoch was scheduled', () => {
    // slot 19 is in epoch 2: read from the start of epoch 1 (slot 8)
    expect(catchUpFromMs(minimal, slotStartMs(minimal, 19) + 500)).toBe(slotStartMs(minimal, 8));
    // the first slot of an epoch still reaches back a whole epoch
    expect(catchUpFromMs(minimal, slotStartMs(minimal, 16))).toBe(slotStartMs(minimal, 8));
    // in epoch 0, and before genesis, back to one epoch before genesis
    expect(catchUpFromMs(minimal, slotStartMs(minimal, 3))).toBe(minimal.genesisTimeMs - 16_000);
    expect(catchUpFromMs(minimal, 0)).toBe(minimal.genesisTimeMs - 16_000);
  });
});
