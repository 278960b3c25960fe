/** The Ansible inventory of a session: groups, targets and indexes, variables, names. */
import { ConfigError, ProviderError } from '../../../src/errors/errors';
import {
  beegfsPorts,
  buildInventory,
  filesystemName,
  partitionPath,
  renderInventory,
  sessionGroupName,
  type AnsibleInventory,
} from '../../../src/pfsprovider/ansible/inventory';
import type { SessionRecord } from '../../../src/registry/model';
import { sessionRecord } from '../../support/session-record';

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord(overrides);
}

/** Three hosts, seven bricks, the primary on storage2. */
const SPREAD = [
  { host: 'storage2', device: 'nvme1n1' },
  { host: 'storage1', device: 'nvme0n1' },
  { host: 'storage3', device: 'sdb' },
  { host: 'storage2', device: 'nvme0n1' },
  { host: 'storage1', device: 'nvme3n1' },
  { host: 'storage3', device: 'sdc' },
  { host: 'storage2', device: 'nvme2n1' },
];

const options = { mountRoot: '/mnt/dac', clientHosts: [] as string[] };

function group(inventory: AnsibleInventory, token = '4242') {
  const found = inventory.all.children[sessionGroupName(token)];
  if (!found) throw new Error(`no group for ${token}`);
  return found;
}

describe('buildInventory for lustre', () => {
  it('makes one brick the MGS, MDT 0 and OST 0 on two partitions', () => {
    const inventory = buildInventory('lustre', session(), options);
    expect(Object.keys(inventory.all.children)).toEqual(['dac_4242']);
    expect(group(inventory).children.servers.hosts).toEqual({
      storage1: {
        dac_devices: ['/dev/nvme0n1'],
        lustre_split_device: '/dev/nvme0n1',
        lustre_mgs: '/dev/nvme0n1p1',
        lustre_mdts: { '/dev/nvme0n1p1': 0 },
        lustre_osts: { '/dev/nvme0n1p2': 0 },
      },
    });
  });

  it('gives every brick of every host an OST with its global index', () => {
    const inventory = buildInventory('lustre', session({ bricks: SPREAD }), options);
    const hosts = group(inventory).children.servers.hosts;
    expect(Object.keys(hosts)).toEqual(['storage2', 'storage1', 'storage3']);
    expect(hosts.storage2).toEqual({
      dac_devices: ['/dev/nvme1n1', '/dev/nvme0n1', '/dev/nvme2n1'],
      lustre_split_device: '/dev/nvme1n1',
      lustre_mgs: '/dev/nvme1n1p1',
      lustre_mdts: { '/dev/nvme1n1p1': 0 },
      lustre_osts: { '/dev/nvme1n1p2': 0, '/dev/nvme0n1': 3, '/dev/nvme2n1': 6 },
    });
    expect(hosts.storage1).toEqual({
      dac_devices: ['/dev/nvme0n1', '/dev/nvme3n1'],
      lustre_osts: { '/dev/nvme0n1': 1, '/dev/nvme3n1': 4 },
    });
    expect(hosts.storage3).toEqual({
      dac_devices: ['/dev/sdb', '/dev/sdc'],
      lustre_osts: { '/dev/sdb': 2, '/dev/sdc': 5 },
    });
    const indexes = Object.values(hosts).flatMap((h) =>
      Object.values(h.lustre_osts as Record<string, number>),
    );
    expect(indexes.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(group(inventory).vars).toMatchObject({
      dac_mgs_host: 'storage2',
      lustre_mgs_nid: 'storage2@tcp',
      lustre_mdt_size: '20GiB',
    });
  });

  it('holds the session variables the playbooks use', () => {
    const inventory = buildInventory('lustre', session({ accessMode: 'striped,private' }), {
      ...options,
      stagingRoot: '/var/lib/dac/ansible/mnt/',
      lnetNetwork: 'o2ib',
      mdtSize: '5%',
    });
    expect(group(inventory).vars).toEqual({
      dac_kind: 'lustre',
      dac_token: '4242',
      dac_session_id: 7,
      dac_session_kind: 'job',
      dac_fs_name: 'dac7',
      dac_owner_uid: 1001,
      dac_owner_gid: 1002,
      dac_mgs_host: 'storage1',
      dac_server_root: '/var/lib/dac/lustre/dac7',
      dac_client_mount: '/mnt/dac/fs/4242',
      dac_staging_mount: '/var/lib/dac/ansible/mnt/4242',
      dac_paths_dir: '/mnt/dac/job/4242',
      dac_striped_link: '/mnt/dac/job/4242/striped',
      dac_private_link: '/mnt/dac/job/4242/private',
      lustre_mgs_nid: 'storage1@o2ib',
      lustre_mdt_size: '5%',
    });
  });

  it('links only the namespaces of the access mode', () => {
    const privateOnly = group(
      buildInventory('lustre', session({ accessMode: 'private' }), options),
    ).vars;
    expect(privateOnly.dac_striped_link).toBeNull();
    expect(privateOnly.dac_private_link).toBe('/mnt/dac/job/4242/private');
  });

  it('links a persistent buffer under persistent/<name>', () => {
    const vars = group(
      buildInventory('lustre', session({ kind: 'persistent', token: 'scratch1' }), options),
      'scratch1',
    ).vars;
    expect(vars).toMatchObject({
      dac_session_kind: 'persistent',
      dac_client_mount: '/mnt/dac/fs/scratch1',
      dac_paths_dir: '/mnt/dac/persistent/scratch1',
      dac_striped_link: '/mnt/dac/persistent/scratch1/striped',
      dac_private_link: null,
    });
  });
});

describe('buildInventory for beegfs', () => {
  it('puts mgmtd and meta on the primary brick and a storage target on every brick', () => {
    const inventory = buildInventory('beegfs', session({ bricks: SPREAD }), options);
    const hosts = group(inventory).children.servers.hosts;
    expect(hosts.storage2).toEqual({
      dac_devices: ['/dev/nvme1n1', '/dev/nvme0n1', '/dev/nvme2n1'],
      beegfs_mgmtd: '/dev/nvme1n1',
      beegfs_meta: { '/dev/nvme1n1': 1 },
      beegfs_storage_node: 1,
      beegfs_storage: { '/dev/nvme1n1': 1, '/dev/nvme0n1': 4, '/dev/nvme2n1': 7 },
    });
    expect(hosts.storage1).toEqual({
      dac_devices: ['/dev/nvme0n1', '/dev/nvme3n1'],
      beegfs_storage_node: 2,
      beegfs_storage: { '/dev/nvme0n1': 2, '/dev/nvme3n1': 5 },
    });
    expect(hosts.storage3).toEqual({
      dac_devices: ['/dev/sdb', '/dev/sdc'],
      beegfs_storage_node: 3,
      beegfs_storage: { '/dev/sdb': 3, '/dev/sdc': 6 },
    });
  });

  it('has no Lustre variables and sets the management host and ports', () => {
    const vars = group(buildInventory('beegfs', session({ id: 4501 }), options)).vars;
    expect(vars.dac_kind).toBe('beegfs');
    expect(vars.dac_server_root).toBe('/var/lib/dac/beegfs/dac3h1');
    expect(vars).not.toHaveProperty('lustre_mgs_nid');
    expect(vars.beegfs_ports).toEqual({
      mgmtd: 10005,
      meta: 10006,
      storage: 10007,
      client: 10008,
      helperd: 10009,
    });
    expect(vars.beegfs_settings).toMatchObject({
      sysMgmtdHost: 'storage1',
      connMgmtdPortTCP: 10005,
      connMgmtdPortUDP: 10005,
      connMetaPortTCP: 10006,
      connStoragePortUDP: 10007,
      connClientPortUDP: 10008,
      connHelperdPortTCP: 10009,
    });
  });

  it('keeps every port below the ephemeral range', () => {
    for (const id of [1, 4499, 4500, 123456789, Number.MAX_SAFE_INTEGER]) {
      for (const port of Object.values(beegfsPorts(id))) {
        expect(port).toBeGreaterThanOrEqual(10000);
        expect(port).toBeLessThan(32768);
      }
    }
  });
});

describe('the client groups', () => {
  it('list the compute hosts, and the reconciler host for staging', () => {
    const inventory = buildInventory(
      'lustre',
      session({ bricks: SPREAD, reconciler: 'storage2' }),
      {
        ...options,
        clientHosts: ['nid001', 'nid002'],
      },
    );
    const clients = group(inventory).children.clients.children;
    expect(clients.compute.hosts).toEqual({ nid001: {}, nid002: {} });
    expect(clients.staging.hosts).toEqual({ storage2: {} });
  });

  it('reach the host ansible runs on with the local connection', () => {
    const inventory = buildInventory('beegfs', session(), {
      ...options,
      clientHosts: ['nid001', 'storage1'],
      localHost: 'storage1',
    });
    const clients = group(inventory).children.clients.children;
    expect(clients.compute.hosts).toEqual({
      nid001: {},
      storage1: { ansible_connection: 'local' },
    });
    expect(clients.staging.hosts).toEqual({ storage1: { ansible_connection: 'local' } });
  });

  it('are empty of compute hosts when there is nothing to mount on', () => {
    const clients = group(buildInventory('lustre', session(), options)).children.clients.children;
    expect(clients.compute.hosts).toEqual({});
  });
});

describe('filesystemName', () => {
  it('is dac + the id in base 36', () => {
    expect(filesystemName(1)).toBe('dac1');
    expect(filesystemName(7)).toBe('dac7');
    expect(filesystemName(36)).toBe('dac10');
    expect(filesystemName(36 ** 5 - 1)).toBe('daczzzzz');
  });

  it('is the same for the same id and different for different ids', () => {
    expect(filesystemName(123456)).toBe(filesystemName(123456));
    const names = new Set<string>();
    for (let id = 1; id <= 5000; id += 1) names.add(filesystemName(id));
    names.add(filesystemName(36 ** 5));
    names.add(filesystemName(36 ** 5 + 1));
    expect(names.size).toBe(5002);
  });

  it('fits in Lustre 8 characters of letters and digits for any id', () => {
    for (const id of [1, 35, 36 ** 4, 36 ** 5 - 1, 36 ** 5, 36 ** 7 - 1, Number.MAX_SAFE_INTEGER]) {
      expect(filesystemName(id)).toMatch(/^[a-z][a-z0-9]{0,7}$/);
    }
    expect(filesystemName(36 ** 5)).toBe('x0100000');
  });
});

describe('names and paths', () => {
  it('sanitises the group name of a token', () => {
    expect(sessionGroupName('4242')).toBe('dac_4242');
    expect(sessionGroupName('my_buffer')).toBe('dac_my_buffer');
    expect(sessionGroupName('my-buf.1')).toBe('dac_my_buf_1');
    const inventory = buildInventory('lustre', session({ token: 'my-buf.1' }), options);
    expect(Object.keys(inventory.all.children)).toEqual(['dac_my_buf_1']);
  });

  it('names partitions as the kernel does', () => {
    expect(partitionPath('nvme0n1', 1)).toBe('/dev/nvme0n1p1');
    expect(partitionPath('sdb', 2)).toBe('/dev/sdb2');
  });

  it('refuses a session without bricks', () => {
    expect(() => buildInventory('lustre', session({ bricks: [] }), options)).toThrow(ProviderError);
  });

  it.each(['relative', '/mnt/{{ evil }}', '/mnt/../etc', '/mnt/a b'])(
    'refuses the root path %s',
    (root) => {
      expect(() => buildInventory('lustre', session(), { ...options, mountRoot: root })).toThrow(
        ConfigError,
      );
      expect(() => buildInventory('beegfs', session(), { ...options, stagingRoot: root })).toThrow(
        ConfigError,
      );
    },
  );
});

describe('renderInventory', () => {
  it('renders the same JSON for the same session', () => {
    const text = renderInventory(buildInventory('lustre', session({ bricks: SPREAD }), options));
    expect(text).toBe(
      renderInventory(buildInventory('lustre', session({ bricks: SPREAD }), options)),
    );
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(
      buildInventory('lustre', session({ bricks: SPREAD }), options),
    );
  });
});
