// Seeded randomness for everything a run draws (batch order, timesteps, label dropout, noise).
// Each draw is keyed by (seed, purpose, step), so step k of a resumed run draws exactly what
// step k of an uninterrupted run drew: no generator state needs saving in a checkpoint.

/** A small, fast 32-bit generator (mulberry32). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer uniform in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }

  /** Standard normal samples (Box–Muller), as float32. */
  normal(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = 1 - this.next();
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }
}

/** Mixes a seed, a purpose and an index into one 32-bit seed (FNV-1a over the parts). */
export function deriveSeed(seed: number, purpose: string, index = 0): number {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const v of [seed >>> 0, index >>> 0, Math.floor(index / 4294967296) >>> 0]) {
    for (let s = 0; s < 32; s += 8) mix(v >>> s);
  }
  for (let i = 0; i < purpose.length; i++) mix(purpose.charCodeAt(i));
  return h;
}

export function rngFor(seed: number, purpose: string, index = 0): Rng {
  return new Rng(deriveSeed(seed, purpose, index));
}
