// Bounds and formats shared by the API schemas and the server's own checks. Declared once
// here so the schema a client sees and the rule the server enforces cannot drift apart.

/** A sandbox name: short, shell-friendly, and never mistaken for an id (ids start `sb-`). */
export const SANDBOX_NAME_PATTERN = '^(?!sb-)[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$';
/** A sandbox id as the server makes them. */
export const SANDBOX_ID_PATTERN = '^sb-[0-9a-f]{12}$';
/** A hostname label (RFC 1123). */
export const HOSTNAME_PATTERN = '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$';
/** An environment variable name. */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** A label key, e.g. `team` or `shed.dev/pool`. */
export const LABEL_KEY_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_./-]{0,62}$';

export const LIMITS = {
  memoryMiB: { min: 16, max: 65_536, default: 512 },
  cpuMillis: { min: 10, max: 256_000, default: 1000 },
  pidsMax: { min: 8, max: 65_536, default: 512 },
  labelValueChars: 256,
  labelsMax: 64,
  envMax: 256,
  envValueChars: 32_768,
  argvMax: 4096,
  argChars: 4096,
  pathChars: 4096,
  /** Largest JSON request body the API accepts. */
  jsonBodyBytes: 1_048_576,
  /** Buffered exec: output kept per call before the process is killed. */
  execOutputBytes: { default: 16_777_216, max: 67_108_864 },
  /** The agent's exec timeout field is a u32 of milliseconds. */
  timeoutMs: { max: 4_294_967_295 },
  idempotencyKeyChars: 128,
  /** A sandbox's TTL and idle timeout, in seconds: from one second to a year. */
  expirySeconds: { min: 1, max: 31_536_000 },
  /** Terminal rows and columns: the kernel's winsize fields are 16-bit. */
  terminalSize: { max: 65_535 },
} as const;

/** How a sandbox reaches the network: loopback only, or NAT through the host's bridge. */
export const NETWORK_MODES = ['none', 'nat'] as const;
/** An egress rule: an IPv4 address or CIDR, optionally `:PORT` (TCP and UDP), e.g. `10.0.0.0/8`, `192.0.2.7:443`. */
export const EGRESS_RULE_PATTERN = '^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}(/([12]?[0-9]|3[0-2]))?(:[1-9][0-9]{0,4})?$';
/** Most rules in a sandbox's allow or deny list. */
export const EGRESS_RULES_MAX = 64;

/** What a sandbox's expiry (TTL or idle timeout) does to it. */
export const EXPIRE_ACTIONS = ['stop', 'delete'] as const;
