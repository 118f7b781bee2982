// An ImageService that knows one image, 'default', whose rootfs is the host's (the agent
// test driver runs on the host filesystem). Its row is put in the images table so
// sandboxes can reference it.
import type { ImageDigest } from '@shed/server';
import type { ImageService, ResolvedImage } from '@shed/server';
import { ShedError } from '@shed/server';
import type { Db } from '@shed/server';

export const FAKE_DIGEST = `sha256:${'f'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.

export function fakeImages(db: Db): ImageService {
  db.prepare(`INSERT OR IGNORE INTO images (digest, config, source, disk_bytes, created_at, last_used_at)
    VALUES (?, '{}', 'builtin', 0, 0, 0)`).run(FAKE_DIGEST);
  const image: ResolvedImage = {
    rootfs: '/',
    info: {
      digest: FAKE_DIGEST, names: ['default'], sizeBytes: 0, source: 'builtin', createdAt: 0, lastUsedAt: 0,
      config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FROM_IMAGE=1'], workingDir: '/' },
    },
  };
  return {
    resolve: async (ref) => {
      if (ref !== 'default' && ref !== FAKE_DIGEST) throw new ShedError('not_found', `image '${ref}' does not exist; pull or import it`);
      return image;
    },
    list: async () => [image.info],
  } as ImageService; // The test needs only resolve and list; the other calls are the image store's.
}
