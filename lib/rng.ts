/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna 2018) seeded through
 * splitmix32. Written here because the forest needs a generator whose stream is
 * fixed by the seed alone (Math.random cannot be seeded), small enough to copy per
 * tree, and identical on every thread.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    // the state is kept as signed 32-bit integers (the same bits), which V8 stores in an
    // object's fields directly; unsigned values above 2^31 would be boxed doubles
    this.s0 = next() | 0;
    this.s1 = next() | 0;
    this.s2 = next() | 0;
    this.s3 = next() | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * A uniform integer in [0, n) (n a positive integer), without modulo bias: a draw at or
   * above the largest multiple of n up to 2^32, floor(2^32 / n) * n, is rejected, the rest
   * taken modulo n as r - floor(r / n) * n. Both are exact here (the quotient's rounding
   * error is far below 1 / n at these sizes) and equal to what % gives, which V8 makes a
   * slow fmod call for a number above 2^31 (a draw every bootstrap sample of every tree).
   */
  nextInt(n: number): number {
    if (n <= 0) throw new Error(`nextInt(${n})`);
    const limit = Math.floor(0x100000000 / n) * n;
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r - Math.floor(r / n) * n;
    }
  }

  /** Shuffles an array in place (Fisher-Yates, last position first) and returns it. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** A uniform double in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }
}

/** x rotated left by k bits, as a signed 32-bit integer. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Per-tree seeds drawn from the forest seed, so tree t is the same however trees are spread over threads. */
export function treeSeeds(seed: number, nTrees: number): Uint32Array {
  const rng = new Rng(seed);
  const out = new Uint32Array(nTrees);
  for (let t = 0; t < nTrees; t++) out[t] = rng.nextUint32();
  return out;
}
