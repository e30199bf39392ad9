/**
 * Draws from Beta(α, β) using only a uniform source, so that a caller injecting a seeded `random`
 * gets reproducible draws. Beta is X / (X + Y) with X ~ Gamma(α), Y ~ Gamma(β); Gamma uses
 * Marsaglia and Tsang's method (2000), with normals from Box–Muller.
 */

/** A uniform source on [0, 1), like Math.random. */
export type Uniform = () => number;

export function sampleBeta(alpha: number, beta: number, random: Uniform): number {
  if (!(alpha > 0) || !(beta > 0) || !Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new RangeError(`Beta parameters must be positive and finite, got (${alpha}, ${beta})`);
  }
  const x = sampleGamma(alpha, random);
  const y = sampleGamma(beta, random);
  // Both draws underflowing to 0 is possible only for tiny shapes; the mean is the honest answer then.
  return x + y === 0 ? alpha / (alpha + beta) : x / (x + y);
}

/** Gamma(shape, 1). */
export function sampleGamma(shape: number, random: Uniform): number {
  if (shape < 1) {
    // Gamma(a) = Gamma(a + 1) · U^(1/a): Marsaglia–Tsang needs a shape of at least 1.
    return sampleGamma(shape + 1, random) * Math.pow(openUnit(random), 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = openUnit(random);
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A standard normal draw (Box–Muller; the second value of the pair is dropped to keep no state). */
export function sampleNormal(random: Uniform): number {
  const u1 = openUnit(random);
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A uniform draw on (0, 1]: logarithms of it are finite. */
function openUnit(random: Uniform): number {
  return 1 - random();
}
