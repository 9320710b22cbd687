/**
 * A small first-fit allocator over a WebAssembly memory: the module allocates nothing itself, so
 * every kernel buffer (weights kept between calls, scratch freed after a call) comes from here.
 * Blocks are 16-byte aligned; freed blocks coalesce; the memory grows when no free block fits
 * (WebAssembly memories never shrink, so `reservedBytes` can stay above `liveBytes`).
 */
export class WasmHeap {
  private readonly memory: WebAssembly.Memory;
  private top: number;
  /** Free blocks sorted by address. */
  private free: { ptr: number; size: number }[] = [];
  private readonly used = new Map<number, number>();
  private live = 0;

  constructor(memory: WebAssembly.Memory, base: number) {
    this.memory = memory;
    this.top = align(base);
  }

  /** Bytes in live blocks. */
  get liveBytes(): number {
    return this.live;
  }

  /** Bytes of the memory (its size in pages times 64 KiB). */
  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  get liveBlocks(): number {
    return this.used.size;
  }

  /** A block of at least `bytes` (not zeroed); release it with `release`. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`wasm heap: bad size ${bytes}`);
    const size = align(Math.max(bytes, 16));
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.size < size) continue;
      const ptr = b.ptr;
      if (b.size === size) this.free.splice(i, 1);
      else {
        b.ptr += size;
        b.size -= size;
      }
      return this.take(ptr, size);
    }
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new Error(`wasm heap: cannot grow memory by ${pages} pages: ${(e as Error).message}`);
      }
    }
    this.top = end;
    return this.take(ptr, size);
  }

  private take(ptr: number, size: number): number {
    this.used.set(ptr, size);
    this.live += size;
    return ptr;
  }

  /** Returns a block from `alloc` (0 is ignored). */
  release(ptr: number): void {
    if (ptr === 0) return;
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`wasm heap: ${ptr} is not a live block`);
    this.used.delete(ptr);
    this.live -= size;
    let i = 0;
    while (i < this.free.length && this.free[i].ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    // Coalesce with the next and the previous block.
    const cur = this.free[i];
    const next = this.free[i + 1];
    if (next && cur.ptr + cur.size === next.ptr) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === cur.ptr) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
    // A free block at the top goes back to the bump pointer.
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }

  /** Byte view of the memory (re-fetch after any alloc: growing detaches old views). */
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** Copies `src` into a new block and returns its address. */
  put(src: ArrayBufferView): number {
    const ptr = this.alloc(src.byteLength);
    this.bytes().set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), ptr);
    return ptr;
  }

  /** Float32 view of `count` floats at `ptr` (valid until the next alloc). */
  f32(ptr: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, count);
  }
}

function align(n: number): number {
  return (n + 15) & ~15;
}
