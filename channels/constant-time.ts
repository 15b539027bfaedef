// Constant-time equality for signatures and tokens. Both sides are hashed first so the buffers handed to
// timingSafeEqual always have equal length and a mismatch reveals nothing, not even the expected length.
import { createHash, timingSafeEqual } from 'node:crypto';

export function constantTimeEqual(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a, 'utf8').digest();
  const digestB = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(digestA, digestB);
}
