// Which layer of an artifact holds the desired state (pure): Flux's content layer, the one named by
// layerSelector, or a generic artifact's single tar+gzip layer.
import { ConvergeError } from '../../api/index.ts';
import type { Descriptor, Manifest } from './client.ts';

export const FLUX_CONFIG_TYPE = 'application/vnd.cncf.flux.config.v1+json';
export const FLUX_CONTENT_TYPE = 'application/vnd.cncf.flux.content.v1.tar+gzip';
export const HELM_CHART_CONTENT_TYPE = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

export interface LayerSelector {
  mediaType?: string | undefined;
  operation?: 'extract' | 'copy' | undefined;
}

export interface ChosenLayer {
  layer: Descriptor;
  operation: 'extract' | 'copy';
  /** For copy: the file name the blob is written as (its org.opencontainers.image.title, else the digest). */
  fileName: string;
}

const isTarGzip = (mediaType: string) => /tar\+gzip$|\.tar\.gzip$|tar\.gz$/.test(mediaType);

export function chooseLayer(manifest: Manifest, where: string, selector?: LayerSelector): ChosenLayer {
  if (INDEX_TYPES.has(manifest.mediaType ?? '') || Array.isArray(manifest.manifests)) {
    throw new ConvergeError(
      'FetchFailed',
      `${where} is an image index (several platforms), not an artifact; point spec.url/ref at one artifact manifest`,
    );
  }
  const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
  if (layers.length === 0) throw new ConvergeError('FetchFailed', `${where}: the manifest has no layers`);
  const operation = selector?.operation ?? 'extract';
  let layer: Descriptor | undefined;
  if (selector?.mediaType) {
    layer = layers.find((l) => l.mediaType === selector.mediaType);
    if (!layer) {
      throw new ConvergeError(
        'FetchFailed',
        `${where}: no layer of media type ${selector.mediaType} (spec.layerSelector); the artifact has ${describe(layers)}`,
      );
    }
  } else {
    layer =
      layers.find((l) => l.mediaType === FLUX_CONTENT_TYPE) ??
      (layers.length === 1 && isTarGzip(layers[0]!.mediaType) ? layers[0] : undefined) ??
      (layers.filter((l) => isTarGzip(l.mediaType)).length === 1
        ? layers.find((l) => isTarGzip(l.mediaType))
        : undefined);
    if (!layer) {
      throw new ConvergeError(
        'FetchFailed',
        `${where}: cannot tell which layer holds the manifests (${describe(layers)}); set spec.layerSelector.mediaType`,
      );
    }
  }
  if (operation === 'extract' && !isTarGzip(layer.mediaType) && selector?.mediaType === undefined) {
    throw new ConvergeError(
      'FetchFailed',
      `${where}: layer ${layer.mediaType} is not tar+gzip; use layerSelector.operation: copy`,
    );
  }
  const title = layer.annotations?.['org.opencontainers.image.title'];
  const fileName =
    title && /^[A-Za-z0-9._-][A-Za-z0-9._ -]{0,200}$/.test(title) && title !== '.' && title !== '..'
      ? title
      : layer.digest.replace(':', '-');
  return { layer, operation, fileName };
}

function describe(layers: Descriptor[]): string {
  const types = layers.map((l) => l.mediaType);
  return `${layers.length} layer${layers.length === 1 ? '' : 's'}: ${[...new Set(types)].slice(0, 5).join(', ')}`;
}
