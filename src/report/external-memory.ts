/**
 * Bytes that frugal keeps outside tfjs tensors (packed activations in typed arrays, seeds,
 * quantization tables). Every such buffer is tracked here so the memory meter counts it.
 */
export class ExternalMemory {
  private liveBytes = 0;
  private peakBytes = 0;
  private readonly watchers = new Set<() => void>();

  get live(): number {
    return this.liveBytes;
  }

  /** Highest live count since the last `resetPeak`. */
  get peak(): number {
    return this.peakBytes;
  }

  track(bytes: number): void {
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    for (const w of this.watchers) w();
  }

  /** Calls `f` after every `track` until the returned function is called (a meter's peak). */
  watch(f: () => void): () => void {
    this.watchers.add(f);
    return () => {
      this.watchers.delete(f);
    };
  }

  release(bytes: number): void {
    this.liveBytes -= bytes;
    if (this.liveBytes < 0)
      throw new Error(`external memory released more than tracked (${this.liveBytes} bytes)`);
  }

  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }
}

/** The process-wide tracker the memory meter reads. */
export const externalMemory = new ExternalMemory();
