/**
 * Image references: a strict subset of Docker's reference grammar, then the operator's allowlist.
 * Syntax first, so `..`, spaces, uppercase or `://` never reach a glob or the Docker API.
 */
import { fail } from './fields.js';
import { globMatch } from './glob.js';

// Docker's grammar: path components separated by `.`, `_`, `__` or dashes (so no `..`, no `//`).
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
// Optional registry host with port (`localhost:5000/`); a host needs the trailing `/` to count.
const DOMAIN = '(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?/)?';
const TAG = '(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})';
const DIGEST = '(?:@sha256:[a-f0-9]{64})';
export const IMAGE_RE = new RegExp(`^${DOMAIN}${COMPONENT}(?:/${COMPONENT})*${TAG}?${DIGEST}?$`);

/** `mock-app` → `mock-app:latest`, as Docker resolves it; a digest-only reference stays as is. */
export function imageForMatching(image: string): string {
  if (image.includes('@')) return image;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? image : `${image}:latest`;
}

export function validateImage(raw: unknown, allowedImages: readonly string[]): string {
  if (typeof raw !== 'string' || raw === '') fail('invalid_field', 'image', 'image is required and must be a string');
  if (raw.length > 255 || !IMAGE_RE.test(raw)) {
    fail('invalid_field', 'image', 'image must be a lowercase image reference like name:tag or registry/name:tag');
  }
  const candidate = imageForMatching(raw);
  if (!allowedImages.some((p) => globMatch(p, candidate))) {
    fail('image_not_allowed', 'image', `image ${candidate} is not in the allowed list: ${allowedImages.join(', ') || '(none)'}`);
  }
  return raw;
}
