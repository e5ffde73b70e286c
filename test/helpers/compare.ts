// How far a kernel's numbers are from a reference's: max |a − b| over max |b|, one number per
// tensor, robust to entries near zero.
import type * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

export async function tensorRelativeError(actual: tf.Tensor, expected: tf.Tensor): Promise<number> {
  expect(actual.shape).toEqual(expected.shape);
  return relativeError(await actual.data(), await expected.data());
}
