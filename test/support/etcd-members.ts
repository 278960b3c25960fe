/**
 * A private etcd cluster of several members for failover tests: loopback ports, one temporary
 * data dir, fast raft timings. Members are killed (SIGKILL, as a crash) and restarted from
 * their data dir by index; everything is stopped by pid.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './etcd-server';

interface Member {
  name: string;
  client: string;
  peer: string;
  pid?: number;
}

/** What `/v3/maintenance/status` says of one member (ids as decimal strings). */
interface MemberStatus {
  memberId: string;
  leader: string;
}

async function status(endpoint: string): Promise<MemberStatus | undefined> {
  try {
    const response = await fetch(`${endpoint}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(1000),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { header?: { member_id?: string }; leader?: string };
    if (!body.header?.member_id || !body.leader) return undefined;
    return { memberId: body.header.member_id, leader: body.leader };
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class EtcdMembers {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
  ) {}

  /** Start `count` members and wait until they have a leader. */
  static async start(count = 3): Promise<EtcdMembers> {
    const dir = mkdtempSync(join(tmpdir(), 'dac-test-etcd-cluster-'));
    const members: Member[] = [];
    for (let i = 0; i < count; i++) {
      members.push({
        name: `m${i}`,
        client: `http://127.0.0.1:${await freePort()}`,
        peer: `http://127.0.0.1:${await freePort()}`,
      });
    }
    const cluster = new EtcdMembers(dir, members);
    try {
      for (let i = 0; i < count; i++) cluster.spawn(i);
      await cluster.waitForLeader();
    } catch (error) {
      cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** `ETCDCTL_ENDPOINTS` naming every member. */
  get endpoints(): string {
    return this.members.map((m) => m.client).join(',');
  }

  get size(): number {
    return this.members.length;
  }

  logFile(index: number): string {
    return join(this.dir, `${this.members[index]!.name}.log`);
  }

  private spawn(index: number): void {
    const member = this.members[index]!;
    const log = openSync(this.logFile(index), 'a');
    const child = spawn(
      process.env.ETCD_BINARY ?? 'etcd',
      [
        `--name=${member.name}`,
        `--data-dir=${join(this.dir, member.name)}`,
        `--listen-client-urls=${member.client}`,
        `--advertise-client-urls=${member.client}`,
        `--listen-peer-urls=${member.peer}`,
        `--initial-advertise-peer-urls=${member.peer}`,
        `--initial-cluster=${this.members.map((m) => `${m.name}=${m.peer}`).join(',')}`,
        '--initial-cluster-token=dac-test',
        '--heartbeat-interval=25',
        '--election-timeout=250',
        '--log-level=warn',
        '--logger=zap',
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new Error('could not start etcd');
    member.pid = child.pid;
  }

  /** The index of the current leader, once every running member agrees on one. */
  async waitForLeader(timeoutMs = 20000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.members.filter((m) => m.pid !== undefined);
      const answers = await Promise.all(running.map((m) => status(m.client)));
      const leaders = new Set(answers.map((a) => a?.leader));
      if (answers.every((a) => a !== undefined) && leaders.size === 1) {
        const leader = answers.find((a) => a!.memberId === a!.leader);
        if (leader) return this.members.indexOf(running[answers.indexOf(leader)]!);
      }
      for (const member of running) {
        if (!isRunning(member.pid!)) throw new Error(`etcd ${member.name} exited; see its log`);
      }
      if (Date.now() > deadline) throw new Error(`etcd members have no leader; see ${this.dir}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL member `index` (it keeps its data dir). */
  kill(index: number): void {
    const member = this.members[index]!;
    if (member.pid === undefined) return;
    try {
      process.kill(member.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    member.pid = undefined;
  }

  /** Start member `index` again from its data dir. */
  restart(index: number): void {
    if (this.members[index]!.pid === undefined) this.spawn(index);
  }

  /** Stop every member by pid and remove the data. */
  stop(): void {
    for (let i = 0; i < this.members.length; i++) this.kill(i);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
