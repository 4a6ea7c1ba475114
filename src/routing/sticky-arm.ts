import { createHash } from "node:crypto";

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

/** A uniform number in [0, 1) from the first 48 bits of the key's SHA-256. */
function unitHash(key: string): number {
  return createHash("sha256").update(key).digest().readUIntBE(0, 6) / 2 ** 48;
}
