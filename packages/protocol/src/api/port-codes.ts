// Constants of the port routes, apart from their schemas so clients load no TypeBox.

/** The `Upgrade` token of the raw TCP tunnel route (ROUTES.portTcp). */
export const TCP_UPGRADE_PROTOCOL = 'shed-tcp';

/** Request header the proxy adds: the path prefix it stripped (for apps that build absolute links). */
export const FORWARDED_PREFIX_HEADER = 'x-forwarded-prefix';

/** Header on shedd's own error answers from the port routes, so a client tells them from the sandbox server's. */
export const SHED_ERROR_HEADER = 'x-shed-error';
