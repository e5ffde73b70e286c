// The `fontloom` command's option parsers: each turns what the user typed into a value or says,
// naming the flag, what it expected. Pure, so building the program loads no engine.
import { InvalidArgumentError } from 'commander';
import { BACKEND_NAMES, DATASET_FORMAT_CHOICES, EXPORT_FORMATS, isBackendChoice, type BackendChoice } from '../contract/api.ts';
import { isPresetName, PRESET_NAMES } from '../contract/presets.ts';
import { UserError, type SettingNames } from '../errors.ts';

/** How the CLI's messages point to a setting: by its flag ("choose its format with --format"). */
export const CLI_SETTING_NAMES: SettingNames = { format: 'with --format', name: 'with --name' };

// Decimal digits only: Number() would also read "0x10" as 16, "1e3" as 1000 and "" as 0.
const WHOLE = /^\d{1,15}$/;
const DECIMAL = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = WHOLE.test(value) ? Number(value) : NaN;
    if (!(n >= 1)) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1 in decimal digits, got "${value}"`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = WHOLE.test(value) ? Number(value) : NaN;
    if (!(n >= 0)) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0 in decimal digits, got "${value}"`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = DECIMAL.test(value) ? Number(value) : NaN;
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0, got "${value}"`);
    return n;
  };
}

export function threadCount(value: string): number {
  if (value !== '1' && value !== '2') throw new InvalidArgumentError(`--threads must be 1 or 2, got "${value}"`);
  return Number(value);
}

export function backendChoice(value: string): BackendChoice {
  if (!isBackendChoice(value)) throw new InvalidArgumentError(`unknown backend "${value}": choose auto, ${BACKEND_NAMES.join(', ')}`);
  return value;
}

export function oneOf<T extends string>(what: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown ${what} "${value}": choose ${choices.join(' or ')}`);
    return value as T;
  };
}

export function presetName(value: string): string {
  if (!isPresetName(value)) throw new InvalidArgumentError(`unknown preset "${value}": choose one of ${PRESET_NAMES.join(', ')}`);
  return value;
}

export function exportFormat(value: string): (typeof EXPORT_FORMATS)[number] {
  if (!(EXPORT_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown format "${value}": choose ${EXPORT_FORMATS.join(', ')}`);
  }
  return value as (typeof EXPORT_FORMATS)[number];
}

/** "32,128" → [32, 128]. */
export function pixelSizes(value: string): number[] {
  const sizes = value.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 8 || n > 1024)) {
    throw new InvalidArgumentError(`--sizes must be whole pixel sizes from 8 to 1024 separated by commas, e.g. 32,128; got "${value}"`);
  }
  return sizes;
}

export function guidanceScale(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--cfg must be a number ≥ 0, got "${value}"`);
  return n;
}

export function greyLevel(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 1 || n > 254) throw new InvalidArgumentError(`--threshold must be a grey level from 1 to 254, got "${value}"`);
  return n;
}

export function formatChoice(value: string): (typeof DATASET_FORMAT_CHOICES)[number] {
  if (!(DATASET_FORMAT_CHOICES as readonly string[]).includes(value)) {
    throw new UserError(`unknown format "${value}": choose auto, kaggle, npz, csv, fonts or cifar10`);
  }
  return value as (typeof DATASET_FORMAT_CHOICES)[number];
}

export function etaValue(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`--eta must be between 0 and 1, got "${value}"`);
  return n;
}

export function startStrength(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError(`--strength must be above 0 and at most 1 (1: draw from pure noise), got "${value}"`);
  return n;
}
