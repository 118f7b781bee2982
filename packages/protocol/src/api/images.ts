import { Type, type Static } from '@sinclair/typebox';
import { Closed, Time } from './common.js';

export const ImageRef = Type.String({ minLength: 1, maxLength: 512, description: "Name ('default', 'debian', '127.0.0.1:5000/app:1') or digest" });

export const ImageInfo = Closed(
  {
    digest: Type.String(),
    names: Type.Array(Type.String()),
    sizeBytes: Type.Integer({ description: 'Allocated bytes on disk' }),
    createdAt: Time,
    lastUsedAt: Time,
  },

);
export type ImageInfo = Static<typeof ImageInfo>;

export const ListImagesResponse = Closed({ images: Type.Array(ImageInfo) });
export type ListImagesResponse = Static<typeof ListImagesResponse>;

export const PullImageRequest = Closed({
  ref: Type.String({ minLength: 1, maxLength: 512, description: 'e.g. docker://127.0.0.1:5000/app:1 or 127.0.0.1:5000/app:1' }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Local name; defaults to the reference' })),
});
export type PullImageRequest = Static<typeof PullImageRequest>;

export const ImportImageQuery = Closed({
  name: Type.String({ minLength: 1, maxLength: 512, description: 'Local name for the imported image' }),
});
export type ImportImageQuery = Static<typeof ImportImageQuery>;

export const RemoveImageRequest = Closed({ ref: ImageRef });
export type RemoveImageRequest = Static<typeof RemoveImageRequest>;

export const PruneImagesRequest = Closed({
  maxBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Also evict least recently used unreferenced images until under this size' })),
});
export type PruneImagesRequest = Static<typeof PruneImagesRequest>;

export const PruneImagesResponse = Closed(
  { removed: Type.Array(Type.String(), { description: 'Digests removed' }), freedBytes: Type.Integer() },

);
export type PruneImagesResponse = Static<typeof PruneImagesResponse>;
