// Fixed numbers as tensors, made once per backend. A JS number given to a tfjs op becomes a new
// scalar tensor each call; on a GPU backend that is a buffer created and uploaded, and in the
// composed (non-host-kernel) paths they added up to most of a webgpu training step's host time on
// an H200 (scripts/device/run.sh). Only for a bounded set of values (a layer's constants, not
// per-step quantities such as a learning rate).
import * as tf from '@tensorflow/tfjs-core';

const made = new Map<string, tf.Scalar>();

/** A float32 scalar of `value` on the active backend, kept outside every tidy and reused. */
export function constant(value: number): tf.Scalar {
  const key = `${tf.getBackend()}:${value}`;
  let s = made.get(key);
  if (!s || s.isDisposed) {
    s = tf.keep(tf.scalar(value, 'float32'));
    made.set(key, s);
  }
  return s;
}
