// How a run's settings become its config, the same way for the studio, the API and the CLI.
import { describe, expect, it } from 'vitest';
import { errorAnswer, InvalidInput, NotFound, parseInput, parseWith } from '../src-main/api/boundary.ts';
import { nonNegativeInt, positiveInt, positiveNumber } from '../src-main/cli/options.ts';
import { RUN_LIMITS, RUN_SETTINGS } from '../src-main/contract/api.ts';
import { DEFAULT_RUN_STEPS, PRESETS, stepsPerEpoch } from '../src-main/contract/presets.ts';
import { UserError } from '../src-main/errors.ts';
import { runConfig } from '../src-main/jobs/run.ts';

const never = async (): Promise<number> => {
  throw new Error('the training split was read though no epochs were asked for');
};

describe('a new run’s config', () => {
  it("takes the preset's defaults and recipe, with each part the user set overriding it", async () => {
    const { dataset: _d, name: _n, ...request } = parseInput('createRun', { dataset: 'd', preset: 'tiny', lr: 1e-3, prediction: 'eps', snrGamma: 2 });
    const config = await runConfig(request, never);
    expect(config).toMatchObject({ preset: 'tiny', steps: DEFAULT_RUN_STEPS, batch: PRESETS.tiny.batch, lr: 1e-3, seed: 0, backend: 'auto' });
    expect(config.recipe).toEqual({ ...PRESETS.tiny.recipe, prediction: 'eps', snrGamma: 2 });
    expect(config.valEvery).toBe(50);
    expect(config.sampleEvery).toBe(100);
  });

  it('counts epochs in whole batches of the training split, as the trainer steps through it', async () => {
    const { dataset: _d, name: _n, ...request } = parseInput('createRun', { dataset: 'd', preset: 'micro', epochs: 2, batch: 16 });
    const config = await runConfig(request, async () => 100);
    expect(stepsPerEpoch(100, 16)).toBe(6);
    expect(config.steps).toBe(12);
    expect(config.valEvery).toBe(1);
  });

  it('refuses steps with epochs, and Min-SNR’s γ for a run weighed by plain MSE, in the API’s words and the CLI’s', () => {
    expect(() => parseInput('createRun', { dataset: 'd', preset: 'micro', steps: 5, epochs: 1 })).toThrow(/^createRun: give steps or epochs, not both$/);
    const flags = { what: 'train', field: (f: string) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` };
    expect(() => parseInput('createRun', { dataset: 'd', preset: 'seed', snrGamma: 3 }, flags)).toThrow(
      /^train: --snr-gamma is Min-SNR's γ, but this run weighs its loss with plain mse: add --weighting min-snr$/,
    );
    expect(() => parseInput('createRun', { dataset: 'd', preset: 'seed', snrGamma: 3, weighting: 'min-snr' })).not.toThrow();
    expect(() => parseInput('createRun', { dataset: 'd', preset: 'huge' })).toThrow(InvalidInput);
  });
});

describe('errors, as every binding answers them', () => {
  it('gives bad input 400, a missing thing 404, a user’s mistake 400 and anything else 500 without its stack', () => {
    expect(errorAnswer(new InvalidInput('x'))).toEqual({ status: 400, body: { error: 'x', code: 'invalid-input' } });
    expect(errorAnswer(new NotFound('no run "r"'))).toEqual({ status: 404, body: { error: 'no run "r"', code: 'not-found' } });
    expect(errorAnswer(new UserError('fix it'))).toEqual({ status: 400, body: { error: 'fix it', code: 'user' } });
    const write = process.stderr.write;
    process.stderr.write = () => true;
    try {
      expect(errorAnswer(new Error('boom'))).toEqual({ status: 500, body: { error: 'Fontloom failed: boom', code: 'internal' } });
    } finally {
      process.stderr.write = write;
    }
    expect(() => parseInput('noSuchMethod' as never, {})).toThrow(NotFound);
  });
});

describe('numbers a run may ask for', () => {
  it('refuses steps, epochs, batch and seed past their bounds, naming the field, in the API and the CLI', () => {
    expect(() => parseInput('createRun', { dataset: 'd', preset: 'micro', epochs: 1e308 })).toThrow(/^createRun: epochs: /);
    expect(() => parseInput('createRun', { dataset: 'd', preset: 'micro', steps: 1e300 })).toThrow(/^createRun: steps: /);
    expect(() => parseInput('createRun', { dataset: 'd', preset: 'micro', batch: 5000 })).toThrow(/^createRun: batch: /);
    expect(() => parseInput('estimateStep', { preset: 'micro', batch: 1e9 })).toThrow(/^estimateStep: batch: /);
    const flags = { what: 'train', field: (f: string) => `--${f}` };
    expect(() => parseWith(RUN_SETTINGS, { preset: 'micro', seed: 2 ** 40 }, flags)).toThrow(/^train: --seed: /);
    expect(parseWith(RUN_SETTINGS, { preset: 'micro', steps: RUN_LIMITS.steps, batch: RUN_LIMITS.batch }, flags)).toMatchObject({ steps: RUN_LIMITS.steps });
  });

  it('refuses epochs that come to more steps than a run may take', async () => {
    const settings = parseWith(RUN_SETTINGS, { preset: 'micro', epochs: RUN_LIMITS.epochs, batch: 1 });
    await expect(runConfig(settings, async () => 10_000)).rejects.toThrow(/10000 epochs are 100000000 steps here, over the 10000000/);
  });

  it('reads whole numbers in decimal digits only on the command line', () => {
    const steps = positiveInt('--steps');
    expect(steps('16')).toBe(16);
    for (const typed of ['0x10', '1e3', ' 5', '', '5.0', '0']) expect(() => steps(typed), typed).toThrow(/--steps must be a whole number ≥ 1 in decimal digits/);
    expect(nonNegativeInt('--seed')('0')).toBe(0);
    expect(() => positiveNumber('--lr')('0x1')).toThrow(/--lr must be a number > 0/);
    expect(positiveNumber('--lr')('3e-4')).toBe(3e-4);
  });
});
