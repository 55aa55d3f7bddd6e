import type { Tree } from './tree.js';

/**
 * Binary layout of one tree: [nNodes u32, nClasses u32, nFeatures u32, pad u32] then
 * feature i32[n], left i32[n], right i32[n], threshold f64[n], value f64[n*K],
 * importance f64[nF]. Used to move trees between threads and to store a forest.
 */
export function encodeTree(t: Tree): ArrayBuffer {
  const n = t.nNodes;
  const K = t.nClasses;
  const nF = t.importance.length;
  const ints = 4 + 3 * n + ((3 * n) % 2 === 1 ? 1 : 0); // keep the f64 part 8-byte aligned
  const buf = new ArrayBuffer(ints * 4 + (n + n * K + nF) * 8);
  const i32 = new Int32Array(buf, 0, ints);
  i32[0] = n;
  i32[1] = K;
  i32[2] = nF;
  i32.set(t.feature, 4);
  i32.set(t.left, 4 + n);
  i32.set(t.right, 4 + 2 * n);
  const f64 = new Float64Array(buf, ints * 4);
  f64.set(t.threshold, 0);
  f64.set(t.value, n);
  f64.set(t.importance, n + n * K);
  return buf;
}

export function decodeTree(buf: ArrayBuffer, byteOffset = 0): { tree: Tree; byteLength: number } {
  const head = new Int32Array(buf, byteOffset, 4);
  const n = head[0]!;
  const K = head[1]!;
  const nF = head[2]!;
  const ints = 4 + 3 * n + ((3 * n) % 2 === 1 ? 1 : 0);
  const i32 = new Int32Array(buf, byteOffset, ints);
  const f64 = new Float64Array(buf, byteOffset + ints * 4, n + n * K + nF);
  return {
    tree: {
      nNodes: n,
      nClasses: K,
      feature: i32.slice(4, 4 + n),
      left: i32.slice(4 + n, 4 + 2 * n),
      right: i32.slice(4 + 2 * n, 4 + 3 * n),
      threshold: f64.slice(0, n),
      value: f64.slice(n, n + n * K),
      importance: f64.slice(n + n * K),
    },
    byteLength: ints * 4 + (n + n * K + nF) * 8,
  };
}
