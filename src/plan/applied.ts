// What this process last applied to each object (a digest of its desired form): a plan skips the dry-run of an object Git did not change and whose live state still holds it.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/index.ts';
import type { PlannedObject } from './changeset.ts';

/**
 * Per GitSource, the digest of the desired form each object was last written with (or found equal
 * to by a dry-run), recorded only once an apply succeeded. A new commit that changes one object of
 * 10,000 then costs one dry-run, not 10,000: an object whose desired form has the same digest and
 * whose live state still holds every field Git sets (the drift watch's own test) would dry-run to
 * no change. Anything else (a new form, a hand edit, a failed apply, a restart: the memory is
 * empty) goes through the dry-run as before.
 *
 * Why a failed apply forgets what it tried to write: an object written with form B, in an apply
 * that then failed elsewhere, still carries the digest of A here; a revert to A would find live ⊇ A
 * (B's extra fields are extra) and skip the write that removes them.
 */
export class AppliedObjects {
  private readonly digests = new Map<string, string>();

  /** The digest of what an apply sends for `object` with these ignored fields. */
  static digestOf(object: KubeObject, ignorePaths: readonly string[]): string {
    return createHash('sha256')
      .update(JSON.stringify(object))
      .update('\0')
      .update(JSON.stringify(ignorePaths))
      .digest('base64');
  }

  /** Whether the object `id` was last applied with this digest. */
  holds(id: string, digest: string | undefined): boolean {
    return digest !== undefined && this.digests.get(id) === digest;
  }

  /** After a successful apply: every object of the plan now holds its desired form. */
  recordApplied(objects: readonly PlannedObject[]): void {
    for (const o of objects) {
      if (o.digest !== undefined) this.digests.set(o.id, o.digest);
      else this.digests.delete(o.id);
    }
  }

  /** After a failed apply: what it may have written is unknown, so those objects dry-run next time. */
  forgetWritten(objects: readonly PlannedObject[]): void {
    for (const o of objects) if (o.action !== 'unchanged') this.digests.delete(o.id);
  }

  /** Objects that left Git: nothing is applied to them any more, so their digests go. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.digests.delete(id);
  }

  get size(): number {
    return this.digests.size;
  }
}
