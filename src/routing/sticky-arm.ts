export interface Arm {
  model: string;
  weight: number;
}

/**
 * Picks an A/B arm in proportion to the weights. With a key the pick is a stable hash of it (salted with the
 * route's name, so two routes split one user independently): one user always lands on one arm, and adding
 * traffic never reshuffles anyone. Without a key each request is drawn at random.
 */
export function pickArm<A extends Arm>(arms: readonly A[], key: string | undefined, salt: string): A {
  const total = arms.reduce((sum, arm) => sum + arm.weight, 0);
  let point = (key === undefined ? Math.random() : unitHash(`${salt}\u0000${key}`)) * total;
  for (const arm of arms) {
    point -= arm.weight;
    if (point < 0) return arm;
  }
  return arms[arms.length - 1] as A;
}

/**
 * A number in [0, 1) from the key: FNV-1a over its UTF-16 code units, then MurmurHash3's finalizer so every
 * input bit reaches the top bits the arm is chosen by. Not cryptographic, and needs not be: it only has to
 * spread keys evenly and stay the same across processes and restarts (a SHA-256 here cost more than the rest
 * of the routing).
 */
function unitHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) / 2 ** 32;
}
