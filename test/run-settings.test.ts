// How a run's settings become its config, the same way for the studio, the API and the CLI.
import { describe, expect, it } from 'vitest';
import { errorAnswer, InvalidInput, NotFound, parseInput } from '../src-main/api/boundary.ts';
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
