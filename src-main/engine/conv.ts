// A k×k (odd), stride-1, 'same' convolution whose two gradients are themselves forward
// convolutions. tfjs's Conv2DBackpropFilter is missing on wasm and very slow on cpu (35 s of a
// 38 s micro training step), and wasm's Conv2DBackpropInput is its slowest kernel; as
// convolutions, every backend runs them with its fast Conv2D kernel.
import * as tf from '@tensorflow/tfjs-core';

/** dW[kh,kw,ci,co] = Σ_{n,h,w} x_pad[n,h+kh,w+kw,ci] · dy[n,h,w,co], for a k×k kernel. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  const p = (k - 1) / 2;
  const input = tf.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const kernel = tf.transpose(dy, [1, 2, 0, 3]); // [H, W, N, Co]
  const grad = tf.conv2d(input, kernel, 1, [[0, 0], [p, p], [p, p], [0, 0]]); // [Ci, k, k, Co]
  return tf.transpose(grad, [1, 2, 0, 3]);
}

/** dx = conv(dy, W rotated 180° with in/out channels swapped), for stride 1 and 'same' padding. */
export function conv2dInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(dy, flipped, 1, 'same');
}

export function conv2dSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const conv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, fi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xi, fi]);
    return {
      value: tf.conv2d(xi, fi, 1, 'same'),
      gradFunc: (dy, saved) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        return [conv2dInputGrad(d, fs), conv2dFilterGrad(xs, d, fs.shape[0])];
      },
    };
  });
  return conv(x, w) as tf.Tensor4D;
}
