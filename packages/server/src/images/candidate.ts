import type { ImageSource } from '../core/images.js';
import type { StoredBlob } from './blob-store.js';
import type { ParsedConfig } from './oci.js';

/** A staged document blob with its media type. */
export interface StagedDoc {
  readonly blob: StoredBlob;
  readonly mediaType: string;
}

/**
 * An image read from an archive, with every blob staged and verified, before unpacking.
 * A rootfs import has no config yet: it is built from the layer's diff id after unpack.
 */
export interface Candidate {
  readonly source: ImageSource;
  readonly names: readonly string[];
  /** Present when the archive carried (or shed could already build) the manifest. */
  readonly manifest?: StagedDoc;
  readonly config?: StagedDoc & { readonly parsed: ParsedConfig };
  readonly layers: readonly StagedDoc[];
}
