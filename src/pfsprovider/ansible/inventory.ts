/**
 * The Ansible inventory of one session of a `lustre` or `beegfs` filesystem (pure). dacd writes
 * it as JSON (JSON is YAML, so Ansible's YAML inventory plugin reads it) and runs the static
 * playbooks of `ansible/<kind>/` with it; everything the playbooks need comes from here.
 *
 * One inventory holds one session, so its sub-groups have fixed names the playbooks target:
 *
 * ```
 * all
 * └── dac_<token>        session variables (fs name, MGS host, mount points, owner, links)
 *     ├── servers        the brick hosts, with the targets on each (host variables)
 *     └── clients
 *         ├── compute    the compute hosts to mount on (mount targets)
 *         └── staging    the reconciler host: mounts the filesystem for staging
 * ```
 *
 * Lustre: the primary brick is split in two partitions, `1` the combined MGS + MDT index 0 and
 * `2` an OST; every other brick is a whole-device OST. OST indexes are brick positions in the
 * session, so they are global and the primary's OST is index 0.
 * BeeGFS: every brick holds one filesystem mounted on its host; the primary brick's holds the
 * mgmtd and meta directories as well as a storage target; target ids are brick position + 1
 * (BeeGFS ids start at 1). Ports derive from the session id (several sessions share hosts).
 */
import { ConfigError, ProviderError } from '../../errors/errors';
import { jobPrivatePath, jobStripedPath, persistentStripedPath } from '../../registry/buffer-paths';
import type { SessionRecord } from '../../registry/model';

export type AnsibleFilesystem = 'lustre' | 'beegfs';

export interface InventoryOptions {
  /** `DAC_MOUNT_ROOT`: where buffers appear on compute hosts. */
  mountRoot: string;
  /** The compute hosts to mount on or unmount from (group `compute`); empty for create. */
  clientHosts: string[];
  /**
   * Where the reconciler host mounts the filesystem for staging: `<stagingRoot>/<token>`.
   * Default `/var/lib/dac/ansible/_staging`.
   */
  stagingRoot?: string;
  /**
   * Where brick hosts mount their targets: `<serverRoot>/<fs name>/<device>`.
   * Default `/var/lib/dac/<kind>`.
   */
  serverRoot?: string;
  /** The host ansible-playbook runs on (dacd's own host): reached with the local connection. */
  localHost?: string;
  /** Lustre: the LNet network of the MGS NID (`<mgs host>@<network>`). Default `tcp`. */
  lnetNetwork?: string;
  /** Lustre: size of the MGS/MDT partition on the primary brick, in parted units. Default `20GiB`. */
  mdtSize?: string;
}

/** Host variables of a brick host. */
export type ServerVars = Record<string, unknown> & {
  /** The whole devices of the session's bricks on this host (what delete wipes). */
  dac_devices: string[];
};

export interface AnsibleInventory {
  all: {
    children: Record<
      string,
      {
        vars: Record<string, unknown>;
        children: {
          servers: { hosts: Record<string, ServerVars> };
          clients: {
            children: {
              compute: { hosts: Record<string, Record<string, unknown>> };
              staging: { hosts: Record<string, Record<string, unknown>> };
            };
          };
        };
      }
    >;
  };
}

/** The defaults of the optional inventory options. */
export const DEFAULT_STAGING_ROOT = '/var/lib/dac/ansible/_staging';
const DEFAULT_LNET_NETWORK = 'tcp';
const DEFAULT_MDT_SIZE = '20GiB';

/** Filesystem names of ids below this are `dac` + base 36 id (at most 8 characters). */
const SHORT_NAME_LIMIT = 36 ** 5;
const LONG_NAME_LIMIT = 36 ** 7;

/**
 * The filesystem name of a session: `dac` + the id in base 36 (`dac7`, `dac2n9c`), at most 8
 * characters as Lustre requires. Ids of 36^5 (60 million) and more get `x` + 7 base-36 digits
 * of the id modulo 36^7, which cannot collide with a `dac` name.
 */
export function filesystemName(sessionId: number): string {
  if (sessionId < SHORT_NAME_LIMIT) return `dac${sessionId.toString(36)}`;
  return `x${(sessionId % LONG_NAME_LIMIT).toString(36).padStart(7, '0')}`;
}

/** The inventory group of a session: `dac_<token>` with anything but `[A-Za-z0-9_]` as `_`. */
export function sessionGroupName(token: string): string {
  return `dac_${token.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** `/dev/<device>`. */
export function devicePath(device: string): string {
  return `/dev/${device}`;
}

/** Partition `n` of a device, as the kernel names it (`nvme0n1p1`, `sda1`). */
export function partitionPath(device: string, n: number): string {
  return `/dev/${device}${/[0-9]$/.test(device) ? 'p' : ''}${n}`;
}

/**
 * BeeGFS ports of a session: 5 consecutive ports from 10000 + (id mod 4500) × 5, below Linux's
 * ephemeral range. Two live sessions on one host whose ids are equal modulo 4500 would clash.
 */
export function beegfsPorts(sessionId: number): Record<string, number> {
  const base = 10000 + (sessionId % 4500) * 5;
  return { mgmtd: base, meta: base + 1, storage: base + 2, client: base + 3, helperd: base + 4 };
}

/** Build the inventory of `session` for `kind`. The session must have bricks. */
export function buildInventory(
  kind: AnsibleFilesystem,
  session: SessionRecord,
  options: InventoryOptions,
): AnsibleInventory {
  const primary = session.bricks[0];
  if (!primary) {
    throw new ProviderError(`${kind}: session ${session.token} has no bricks to build on`);
  }
  const stagingRoot = checkedRoot('stagingRoot', options.stagingRoot ?? DEFAULT_STAGING_ROOT);
  const mountRoot = checkedRoot('mountRoot', options.mountRoot);
  const serverRoot = checkedRoot('serverRoot', options.serverRoot ?? `/var/lib/dac/${kind}`);
  const fsName = filesystemName(session.id);
  const mgsHost = primary.host;

  const servers: Record<string, ServerVars> = {};
  session.bricks.forEach((brick, index) => {
    // BeeGFS storage service ids: hosts numbered from 1 in order of their first brick.
    const vars = (servers[brick.host] ??= {
      dac_devices: [],
      ...(kind === 'beegfs' ? { beegfs_storage_node: Object.keys(servers).length + 1 } : {}),
    });
    vars.dac_devices.push(devicePath(brick.device));
    if (kind === 'lustre') addLustreTargets(vars, brick.device, index);
    else addBeegfsTargets(vars, brick.device, index);
  });

  const staging = session.reconciler ?? mgsHost;
  const withConnection = (host: string): Record<string, unknown> =>
    host === options.localHost ? { ansible_connection: 'local' } : {};
  const compute: Record<string, Record<string, unknown>> = {};
  for (const host of options.clientHosts) compute[host] = withConnection(host);

  const vars: Record<string, unknown> = {
    dac_kind: kind,
    dac_token: session.token,
    dac_session_id: session.id,
    dac_session_kind: session.kind,
    dac_fs_name: fsName,
    dac_owner_uid: session.owner.uid,
    dac_owner_gid: session.owner.gid,
    dac_mgs_host: mgsHost,
    dac_server_root: `${serverRoot}/${fsName}`,
    dac_client_mount: `${mountRoot}/fs/${session.token}`,
    dac_staging_mount: `${stagingRoot}/${session.token}`,
    ...linkVars(session, mountRoot),
    ...(kind === 'lustre'
      ? {
          lustre_mgs_nid: `${mgsHost}@${options.lnetNetwork ?? DEFAULT_LNET_NETWORK}`,
          lustre_mdt_size: options.mdtSize ?? DEFAULT_MDT_SIZE,
        }
      : beegfsVars(session.id, mgsHost)),
  };

  return {
    all: {
      children: {
        [sessionGroupName(session.token)]: {
          vars,
          children: {
            servers: { hosts: servers },
            clients: {
              children: {
                compute: { hosts: compute },
                staging: { hosts: { [staging]: withConnection(staging) } },
              },
            },
          },
        },
      },
    },
  };
}

/** The inventory as the JSON text dacd writes: stable key order, 2-space indent, final newline. */
export function renderInventory(inventory: AnsibleInventory): string {
  return `${JSON.stringify(inventory, null, 2)}\n`;
}

function addLustreTargets(vars: ServerVars, device: string, index: number): void {
  const osts = (vars.lustre_osts ??= {}) as Record<string, number>;
  if (index > 0) {
    osts[devicePath(device)] = index;
    return;
  }
  const mgsMdt = partitionPath(device, 1);
  vars.lustre_split_device = devicePath(device);
  vars.lustre_mgs = mgsMdt;
  vars.lustre_mdts = { [mgsMdt]: 0 };
  osts[partitionPath(device, 2)] = 0;
}

function addBeegfsTargets(vars: ServerVars, device: string, index: number): void {
  const path = devicePath(device);
  if (index === 0) {
    vars.beegfs_mgmtd = path;
    vars.beegfs_meta = { [path]: 1 };
  }
  ((vars.beegfs_storage ??= {}) as Record<string, number>)[path] = index + 1;
}

function beegfsVars(sessionId: number, mgsHost: string): Record<string, unknown> {
  const ports = beegfsPorts(sessionId);
  return {
    beegfs_ports: ports,
    // Applied to the copies of the site's /etc/beegfs/*.conf (only keys a file has are changed),
    // so site settings such as connAuthFile or interfaces carry over.
    beegfs_settings: {
      sysMgmtdHost: mgsHost,
      connMgmtdPortTCP: ports.mgmtd,
      connMgmtdPortUDP: ports.mgmtd,
      connMetaPortTCP: ports.meta,
      connMetaPortUDP: ports.meta,
      connStoragePortTCP: ports.storage,
      connStoragePortUDP: ports.storage,
      connClientPortUDP: ports.client,
      connHelperdPortTCP: ports.helperd,
    },
  };
}

/**
 * Where the buffer's paths appear on compute hosts (see registry/buffer-paths.ts):
 * `dac_paths_dir` holds symbolic links `striped` → `<client mount>/striped` and, for a job with
 * private access, `private` → `<client mount>/private/<host>`. A link variable is null when the
 * session has no such namespace.
 */
function linkVars(session: SessionRecord, mountRoot: string): Record<string, unknown> {
  const strip = (path: string) => path.replace(/\/+$/, '');
  if (session.kind === 'persistent') {
    const striped = strip(persistentStripedPath(mountRoot, session.token));
    return {
      dac_paths_dir: parentOf(striped),
      dac_striped_link: striped,
      dac_private_link: null,
    };
  }
  const striped = strip(jobStripedPath(mountRoot, session.token));
  return {
    dac_paths_dir: parentOf(striped),
    dac_striped_link: session.accessMode.includes('striped') ? striped : null,
    dac_private_link: session.accessMode.includes('private')
      ? strip(jobPrivatePath(mountRoot, session.token))
      : null,
  };
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/**
 * Paths end up in Ansible variables, which Ansible templates: allow only plain absolute paths
 * (no `{{`, spaces or `..`). Returned without trailing slashes (`/` becomes ``), for joining.
 */
function checkedRoot(option: string, value: string): string {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(value) || value.split('/').includes('..')) {
    throw new ConfigError(
      `ansible inventory: ${option} "${value}" must be an absolute path of letters, digits, . _ - /`,
    );
  }
  return value.replace(/\/+$/, '');
}
