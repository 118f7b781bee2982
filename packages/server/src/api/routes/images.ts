import {
  Empty, ImageInfo, ImportImageQuery, ListImagesResponse, PruneImagesRequest, PruneImagesResponse, PullImageRequest, ROUTES,
  RemoveImageRequest,
} from '@shed/protocol';
import { abortOnClose } from '../abort.js';
import type { Api, ApiDeps } from '../app.js';
import { imageInfo, pruneResult } from '../mappers.js';
import { asReadable } from './streams.js';

export function imageRoutes(app: Api, { images }: ApiDeps): void {
  app.get(ROUTES.images, { schema: { response: { 200: ListImagesResponse } } }, async () => ({
    images: (await images.list()).map(imageInfo),
  }));

  app.post(ROUTES.imagePull, { schema: { body: PullImageRequest, response: { 200: ImageInfo } } }, async (req, reply) =>
    imageInfo(await images.pull(req.body.ref, { ...(req.body.name === undefined ? {} : { name: req.body.name }), signal: abortOnClose(reply.raw) })),
  );

  app.post(ROUTES.imageImport, { schema: { querystring: ImportImageQuery, response: { 200: ImageInfo } } }, async (req, reply) =>
    imageInfo(await images.importStream(asReadable(req.body), { names: [req.query.name], signal: abortOnClose(reply.raw) })),
  );

  app.post(ROUTES.imageRemove, { schema: { body: RemoveImageRequest, response: { 200: Empty } } }, async (req) => {
    await images.remove(req.body.ref);
    return {};
  });

  app.post(ROUTES.imagePrune, { schema: { body: PruneImagesRequest, response: { 200: PruneImagesResponse } } }, async (req) =>
    pruneResult(await images.prune(req.body)),
  );
}
