import { invalidArgument } from '../core/errors.js';
import { isDigest } from './digest.js';

/** Characters of docker/OCI references (host, port, path, tag, @digest). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/:@+]*$/;

/** Checks a name given to an image; names are stored as given (see withDefaultTag for pulls). */
export function checkName(name: string): string {
  if (name.length === 0 || name.length > 255 || !NAME.test(name) || name.includes('//')) {
    throw invalidArgument(`'${name}' is not a valid image name: use letters, digits and . _ - / : @ + (at most 255), like 'app:1' or '127.0.0.1:5000/app:1'`);
  }
  if (isDigest(name) || /^sha256:/.test(name)) throw invalidArgument(`'${name}' looks like a digest; a name must not`);
  return name;
}

/** Whether a reference has a tag or digest after its last path component. */
function hasTagOrDigest(ref: string): boolean {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@');
}

/** `host/app` → `host/app:latest`, as registries read it. */
export function withDefaultTag(ref: string): string {
  return hasTagOrDigest(ref) ? ref : `${ref}:latest`;
}

/** The names a reference may be stored under: as given, then with ':latest' when it has no tag. */
export function nameCandidates(ref: string): string[] {
  return hasTagOrDigest(ref) ? [ref] : [ref, `${ref}:latest`];
}

/** The registry host of a reference, lower-cased ('' for a bare name like 'alpine'). */
export function registryHost(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return '';
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') ? first.toLowerCase() : '';
}

/** Registries on this machine: TLS is skipped for them by default (a test or local cache registry). */
export function isLoopbackRegistry(host: string): boolean {
  const h = host.replace(/:\d+$/, '');
  return h === 'localhost' || h === '[::1]' || /^127(\.\d{1,3}){3}$/.test(h);
}
