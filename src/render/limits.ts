// Bounds that keep a hostile repository from exhausting memory, CPU or time while rendering.

export interface RenderLimits {
  /** Largest single manifest file read from the checkout. */
  maxFileBytes: number;
  /** Sum of all files read, or of kustomize/helm output. */
  maxTotalBytes: number;
  /** Manifest files read (plain directories only). */
  maxFiles: number;
  /** YAML documents across the whole render, empty ones included. */
  maxDocuments: number;
  /** Alias nodes (`*ref`) per YAML document. */
  maxAliases: number;
  /**
   * Size of all documents with every alias expanded (nodes plus string characters): what a
   * billion-laughs document would become once serialised. js-yaml shares aliased nodes, so
   * parsing stays cheap; this bound stops the blow-up before anything walks or copies the tree.
   */
  maxExpandedSize: number;
  /** Wall time for one `kubectl kustomize` or `helm template` run. */
  toolTimeoutMs: number;
}

export const DEFAULT_RENDER_LIMITS: Readonly<RenderLimits> = Object.freeze({
  maxFileBytes: 5 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxFiles: 10_000,
  maxDocuments: 10_000,
  maxAliases: 1_000,
  maxExpandedSize: 64 * 1024 * 1024,
  toolTimeoutMs: 60_000,
});
