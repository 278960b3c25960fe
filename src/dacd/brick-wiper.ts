/**
 * Wipes the bricks of this host that sessions torn down by force left behind (their allocation
 * records are marked as awaiting a wipe; see registry/forced-release.ts), and then frees them.
 * It finds them at start and follows the host's allocation records for new ones, so a forced
 * teardown while dacd runs is carried out at once, and one while it was stopped when it starts.
 *
 * The wipe goes through the provider (for the local provider, the session's volume directory on
 * each brick and its links); the bricks are freed only after it succeeded (Registry.finishWipe:
 * the allocation records deleted and the usage record rewritten in one transaction). A wipe
 * that fails is tried again later, with a doubling pause; the bricks stay allocated meanwhile.
 * A step of the session still running here (one that hangs is why it was torn down) is given
 * a little time to end after its abort before the wipe starts.
 */
import type { Logger } from '../logging/logger';
import type { PendingWipe, Registry, Watch } from '../registry/registry';

/** Wipe the bricks `devices` of this host of the session `token`; idempotent. */
export type BrickWipe = (token: string, devices: readonly string[]) => Promise<void>;

export interface BrickWiperOptions {
  /** The provider's wipe; without it the bricks wait for an operator (logged). */
  wipe?: BrickWipe;
  /** The provider's name, for the log. */
  provider: string;
  /** Resolves when no step of `token` runs any more here (Reconciler.settled). */
  settled?: (token: string) => Promise<void>;
  /** How long to wait for `settled` before wiping anyway. Default 30 s. */
  settleMs?: number;
  /** Pause before a failed wipe is tried again; doubles up to 60 s. Default 5 s. */
  retryMs?: number;
}

const MAX_RETRY_MS = 60_000;

export class BrickWiper {
  /** Devices awaiting a wipe, by token. */
  private readonly pending = new Map<string, Set<string>>();
  /** Tokens already reported as impossible to wipe (without a provider wipe). */
  private readonly reported = new Set<string>();
  private watch: Watch | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private retryMs: number;

  constructor(
    private readonly registry: Registry,
    private readonly host: string,
    private readonly log: Logger,
    private readonly options: BrickWiperOptions,
  ) {
    this.retryMs = options.retryMs ?? 5000;
  }

  /** Wipe what awaits a wipe now, and follow the allocation records for more. */
  async start(): Promise<void> {
    const { wipes, revision } = await this.registry.bricksAwaitingWipe(this.host);
    this.watch = await this.registry.watchWipes(this.host, revision + 1, (wipe) => this.add(wipe));
    for (const wipe of wipes) this.add(wipe);
  }

  /** Stop following; a wipe under way is finished first. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.watch?.close();
    await this.running;
  }

  /** Resolves when nothing is being wiped (for tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private add(wipe: PendingWipe): void {
    if (this.stopped) return;
    const devices = this.pending.get(wipe.token);
    if (devices) devices.add(wipe.device);
    else this.pending.set(wipe.token, new Set([wipe.device]));
    this.log.info(
      { token: wipe.token, device: wipe.device, by: wipe.wipe.by, reason: wipe.wipe.reason },
      'brick of a session torn down by force awaits a wipe',
    );
    this.kick();
  }

  /** Work through the pending wipes now, or once more after the round under way. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retry);
    this.retry = undefined;
    this.running = this.work().finally(() => {
      this.running = undefined;
    });
  }

  private async work(): Promise<void> {
    // The bricks of one teardown arrive one by one (one watch event each): wipe them together.
    await new Promise((resolve) => setImmediate(resolve));
    let failed = false;
    do {
      this.again = false;
      for (const [token, devices] of [...this.pending]) {
        if (this.stopped) return;
        const wiped = [...devices];
        try {
          await this.wipeOne(token, wiped);
        } catch (error) {
          failed = true;
          this.log.error({ err: error, token, devices: wiped }, 'could not wipe bricks');
          continue;
        }
        for (const device of wiped) devices.delete(device);
        if (devices.size === 0) this.pending.delete(token);
      }
    } while (this.again && !this.stopped);
    if (failed) this.retryLater();
    else this.retryMs = this.options.retryMs ?? 5000;
  }

  private retryLater(): void {
    if (this.stopped) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retry = setTimeout(() => this.kick(), delay);
  }

  /** Wipe and free the bricks `devices` of `token`; throws if either fails. */
  private async wipeOne(token: string, devices: string[]): Promise<void> {
    const wipe = this.options.wipe;
    if (!wipe) {
      if (!this.reported.has(token)) {
        this.reported.add(token);
        this.log.error(
          { token, devices, provider: this.options.provider },
          'this provider cannot wipe bricks without their session; they stay allocated',
        );
      }
      return;
    }
    await this.settled(token);
    await wipe(token, devices);
    const freed = await this.registry.finishWipe(this.host, token, devices);
    this.log.info({ token, devices: freed }, 'bricks wiped and freed');
  }

  /** Wait, for at most `settleMs`, until no step of `token` runs here. */
  private async settled(token: string): Promise<void> {
    const settled = this.options.settled;
    if (!settled) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.settleMs ?? 30_000);
    });
    const late = await Promise.race([settled(token).then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) this.log.warn({ token }, 'a step of the session still runs; wiping anyway');
  }
}
