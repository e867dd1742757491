// One owner per object: a GitSource never takes over an object another GitSource's labels claim, unless told to in Git.
import {
  ANNOTATION_ADOPT,
  LABEL_NAME,
  LABEL_NAMESPACE,
  describeRef,
  type KubeObject,
  type ObjectRef,
} from '../api/index.ts';
import type { Owner } from './changeset.ts';

/** The GitSource a live object's ownership labels name, if any. */
export function ownerOf(live: KubeObject): Owner | undefined {
  const labels = live.metadata.labels ?? {};
  const name = labels[LABEL_NAME];
  const namespace = labels[LABEL_NAMESPACE];
  if (name === undefined && namespace === undefined) return undefined;
  return { name: name ?? '', namespace: namespace ?? '' };
}

/**
 * Why `owner` must not write `desired` over `live`, or undefined when it may: the object is
 * unlabelled (adopting what kubectl or Helm created is normal), already ours, or the desired
 * object opts in with `gitops.converge.dev/adopt: enabled`.
 *
 * The opt-in is read from the desired object, that is from the new owner's Git, not from the live
 * object: taking an object away from another GitSource is a decision of whoever controls the
 * repository that will own it, reviewed with the change that declares it. An annotation on the
 * live object could be set by anyone with edit rights on it, and the current owner's Git would
 * even re-apply it on every sync, which says nothing about who should own it next.
 */
export function ownershipConflict(
  ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>,
  live: KubeObject,
  desired: KubeObject,
  owner: Owner,
): string | undefined {
  const current = ownerOf(live);
  if (!current) return undefined;
  if (current.name === owner.name && current.namespace === owner.namespace) return undefined;
  if (desired.metadata.annotations?.[ANNOTATION_ADOPT] === 'enabled') return undefined;
  return (
    `${describeRef(ref)} is owned by GitSource ${current.namespace || '?'}/${current.name || '?'} ` +
    `(labels ${LABEL_NAMESPACE}, ${LABEL_NAME}); remove it from one of the two, or annotate it ` +
    `${ANNOTATION_ADOPT}: enabled in this GitSource's Git to take it over`
  );
}
