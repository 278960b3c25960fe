/**
 * The paths of one copy step, twice: the real ones the copy uses, and as the user wrote them
 * (`$DW_JOB_STRIPED/data/x`), which every message names. The written paths of tree entries are
 * put together only when a message needs them: a tree of a million files builds none of them.
 */
import type { ResolvedTransfer } from '../provider';

export class Where {
  private constructor(
    public source: string,
    public destination: string,
    private readonly parent: Where | undefined,
    private readonly name: string,
    private writtenSource: string,
    private writtenDestination: string,
  ) {}

  static of(transfer: ResolvedTransfer): Where {
    const { request } = transfer;
    return new Where(
      transfer.source,
      transfer.destination,
      undefined,
      '',
      request.source,
      request.destination,
    );
  }

  /** The entry `name` inside this directory, on both sides. */
  child(name: string): Where {
    return new Where(
      childPath(this.source, name),
      childPath(this.destination, name),
      this,
      name,
      '',
      '',
    );
  }

  get sourceWritten(): string {
    return this.parent ? childPath(this.parent.sourceWritten, this.name) : this.writtenSource;
  }

  set sourceWritten(written: string) {
    this.writtenSource = written;
  }

  get destinationWritten(): string {
    return this.parent
      ? childPath(this.parent.destinationWritten, this.name)
      : this.writtenDestination;
  }

  set destinationWritten(written: string) {
    this.writtenDestination = written;
  }
}

export function childPath(parent: string, name: string): string {
  return parent.endsWith('/') ? `${parent}${name}` : `${parent}/${name}`;
}

/** `/a/b/` → `/a/b`; `/` stays. */
export function trimSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}
