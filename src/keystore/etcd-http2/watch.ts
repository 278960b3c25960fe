/**
 * A prefix watch on its own gRPC stream (`etcdserverpb.Watch/Watch`): a WatchCreateRequest with
 * the prefix's range end and a start revision, then events until it is closed. A stream that
 * breaks (the member died, the connection dropped, etcd cancelled the watch) is opened again,
 * on the next member, from the revision after the last one delivered, as etcd3 does: no event
 * is lost or delivered twice. Closing resets the stream; etcd drops the watch with it.
 */
import { ValidationError } from '../../errors/errors';
import { refusedMessage } from '../etcd-connection';
import { prefixEnd } from '../key-range';
import type { Watch, WatchListener } from '../keystore';
import { startOwnTimeDeadline } from '../own-time-deadline';
import type { Channel, GrpcStream } from './channel';
import type { EtcdHttp2Client } from './client';
import { decodeWatchResponse, encodeWatchCreate, type DecodedWatchResponse } from './protobuf';

const WATCH = '/etcdserverpb.Watch/Watch';
/** The pauses between tries to reopen a broken stream: doubling from the first to the last. */
const FIRST_PAUSE_MS = 100;
const LAST_PAUSE_MS = 1000;

/** A watch, once `start` has resolved. */
export class PrefixWatch implements Watch {
  private stream: GrpcStream | undefined;
  /** The revision to start from when (re)opened; undefined until one is known: "now". */
  private next: number | undefined;
  private open = true;
  private pause = FIRST_PAUSE_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: EtcdHttp2Client,
    private readonly prefix: string,
    private readonly listener: WatchListener,
    fromRevision: number | undefined,
    private readonly onClose: (watch: PrefixWatch) => void,
  ) {
    this.next = fromRevision;
  }

  /** Establish the watch within `timeoutMs`, on whichever member answers. */
  start(timeoutMs: number): Promise<void> {
    return this.client.call(`watch ${this.prefix}`, timeoutMs, (channel, tryMs) =>
      this.connect(channel, tryMs),
    );
  }

  /** Open the stream on `channel`; resolves once etcd has created the watch. */
  private connect(channel: Channel, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let created = false;
      const deadline = startOwnTimeDeadline(timeoutMs, () => {
        stream.cancel();
        channel.drop(); // a member that accepts and never answers
        reject(new Error(`no watch created within ${Math.round(timeoutMs)} ms`));
      });
      const stream = channel.stream(WATCH, {
        message: (message) => {
          let response: DecodedWatchResponse;
          try {
            response = decodeWatchResponse(message);
          } catch (error) {
            stream.cancel();
            if (created) this.broken(stream, channel);
            else {
              deadline.cancel();
              reject(error as Error);
            }
            return;
          }
          if (!created) {
            if (!response.created) return; // not ours: events come only after creation
            created = true;
            deadline.cancel();
            if (!this.open) {
              // Closed while it was being opened again.
              stream.cancel();
              resolve();
              return;
            }
            if (response.canceled) {
              stream.cancel();
              // A start revision etcd has compacted away: no member can serve it.
              reject(
                new ValidationError(
                  refusedMessage(
                    response.cancelReason ||
                      `watch from revision ${this.next} (compacted to ${response.compactRevision})`,
                  ),
                ),
              );
              return;
            }
            // Without a start revision, the watch sees what comes after its creation.
            this.next ??= response.revision + 1;
            this.stream = stream;
            this.pause = FIRST_PAUSE_MS;
            resolve();
          }
          this.deliver(stream, channel, response);
        },
        end: (error) => {
          if (created) this.broken(stream, channel);
          else {
            deadline.cancel();
            reject(error ?? new Error('the watch stream ended before the watch was created'));
          }
        },
      });
      void stream.send(
        encodeWatchCreate({
          key: this.prefix,
          rangeEnd: prefixEnd(this.prefix),
          ...(this.next !== undefined ? { startRevision: this.next } : {}),
        }),
      );
    });
  }

  private deliver(stream: GrpcStream, channel: Channel, response: DecodedWatchResponse): void {
    for (const event of response.events) {
      if (!this.open || this.stream !== stream) return;
      // A reopened stream starts at `next`; anything older was delivered already. The events
      // of one revision come in one response, so `next` moves past a revision only once all
      // of its events are out.
      if (event.kv.modRevision < (this.next ?? 0)) continue;
      this.listener({ type: event.type, kv: event.kv });
    }
    const last = response.events[response.events.length - 1];
    if (last) this.next = Math.max(this.next ?? 0, last.kv.modRevision + 1);
    if (response.canceled && this.open && this.stream === stream) {
      stream.cancel();
      // Compacted while we were away: resume at the oldest revision etcd still has.
      if (response.compactRevision > 0) this.next = response.compactRevision;
      this.broken(stream, channel);
    }
  }

  /** The stream failed: open it again on the next member after a pause, until closed. */
  private broken(stream: GrpcStream, channel: Channel): void {
    if (!this.open || this.stream !== stream) return;
    this.stream = undefined;
    this.client.demote(channel);
    const retry = (): void => {
      this.timer = undefined;
      if (!this.open) return;
      const tryMs = Math.max(this.client.config.timeoutMs, LAST_PAUSE_MS);
      this.start(tryMs).catch(() => {
        if (!this.open) return;
        this.pause = Math.min(this.pause * 2, LAST_PAUSE_MS);
        this.timer = setTimeout(retry, this.pause);
      });
    };
    this.timer = setTimeout(retry, this.pause);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    clearTimeout(this.timer);
    this.stream?.cancel();
    this.stream = undefined;
    this.onClose(this);
  }
}
