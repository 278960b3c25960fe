/**
 * The summary buckets are an index of the session records, so any dacd can rebuild them; a
 * bucket that cannot be read makes `show_sessions` fail for every session. Every dacd watches
 * the buckets (Registry.watchUnreadableSummaries) and rebuilds them
 * (Registry.writeMissingSummaries, as at its start) as soon as one is written that cannot be
 * read: the repair is a compare-and-swap, so several daemons doing it at once is harmless.
 */
import type { Logger } from '../logging/logger';
import type { Registry, Watch } from '../registry/registry';

export class SummaryRepair {
  private watch: Watch | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.watch = await this.registry.watchUnreadableSummaries((key) => {
      this.log.warn({ key }, 'summary bucket cannot be read; rebuilding the buckets');
      this.repair();
    });
  }

  /** Rebuild now, or once more after the rebuild in progress. */
  private repair(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const repaired = await this.registry.writeMissingSummaries();
          this.log.info(
            { sessions: repaired.slice(0, 20), count: repaired.length },
            'buckets rebuilt',
          );
        } catch (error) {
          // The next bad write tries again, and so does every dacd at its start.
          this.log.error({ err: error }, 'could not rebuild the summary buckets');
        }
      } while (this.again && !this.stopped);
      this.running = undefined;
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch?.close();
    await this.running;
  }
}
