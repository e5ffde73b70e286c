// Sample sheets by step: the slider walks the steps; each step may have a model and an EMA sheet.
import type { Sheet } from '../../src-main/contract/api.ts';

export interface SheetStep {
  step: number;
  model: boolean;
  ema: boolean;
}

export function sheetSteps(sheets: readonly Sheet[]): SheetStep[] {
  const byStep = new Map<number, SheetStep>();
  for (const s of sheets) {
    const entry = byStep.get(s.step) ?? { step: s.step, model: false, ema: false };
    entry[s.which] = true;
    byStep.set(s.step, entry);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}
