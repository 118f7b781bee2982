// The subset of the OCI runtime spec (config.json, runtime-spec v1.0.2) that shed generates.
// Field names follow the spec exactly; optional fields are the ones shed may leave out.

export interface OciConfig {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: OciLinux;
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
  rlimits: { type: string; hard: number; soft: number }[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface OciResources {
  devices: { allow: boolean; access: string; type?: string; major?: number; minor?: number }[];
  memory: { limit: number; swap?: number };
  cpu: { quota: number; period: number };
  pids: { limit: number };
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_MASKED_EQ' | 'SCMP_CMP_EQ' | 'SCMP_CMP_NE';
}

export interface OciSeccompRule {
  names: string[];
  action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW';
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  architectures: string[];
  syscalls: OciSeccompRule[];
}

export interface OciLinux {
  uidMappings: OciIdMapping[];
  gidMappings: OciIdMapping[];
  /** `path`: join that namespace instead of making one. */
  namespaces: { type: OciNamespaceType; path?: string }[];
  cgroupsPath: string;
  resources: OciResources;
  seccomp: OciSeccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
}
