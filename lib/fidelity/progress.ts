/** Progress of a run over several tables. */
export interface ProgressEvent {
  /** Tables finished so far. */
  readonly done: number;
  readonly total: number;
  /** The table just finished (`schema.table`), if any. */
  readonly table?: string;
}

/** A minimal writable stream (process.stderr, or a buffer in tests). */
export interface TextSink {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

/** A one-line progress bar redrawn in place; draws nothing unless the sink is a terminal. */
export class ProgressBar {
  private drawn = false;

  constructor(private readonly sink: TextSink, private readonly label: string) {}

  get enabled(): boolean {
    return this.sink.isTTY === true;
  }

  update(event: ProgressEvent): void {
    if (!this.enabled) return;
    const width = 24;
    const filled = event.total === 0 ? width : Math.round((event.done / event.total) * width);
    const text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${event.done}/${event.total} ${event.table ?? ''}`;
    const max = Math.max(20, (this.sink.columns ?? 80) - 1);
    this.sink.write(`\r\x1b[2K${text.length > max ? text.slice(0, max) : text}`);
    this.drawn = true;
  }

  /** Writes one line of what is happening (terminal or not), above the bar. */
  note(message: string): void {
    this.finish();
    this.sink.write(`${message}\n`);
  }

  finish(): void {
    if (this.drawn) this.sink.write('\r\x1b[2K');
    this.drawn = false;
  }
}
