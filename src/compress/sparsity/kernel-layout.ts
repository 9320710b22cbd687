/**
 * Kernels are [...spatial, inChannels, outChannels] (Dense [in, out], Conv2D [kh, kw, in, out]).
 * N:M groups run along the input channels: group (r, g, o) holds the M weights
 * (r, g*M + j, o) for j < M, where r indexes the spatial positions. Groups are numbered
 * ((r * G) + g) * out + o with G = in / M, so a group's output channel is its number mod out.
 */
export interface KernelLayout {
  spatial: number;
  inChannels: number;
  outChannels: number;
  size: number;
}

export function kernelLayout(shape: readonly number[]): KernelLayout {
  if (shape.length < 2) throw new Error(`a kernel needs at least 2 dimensions, got [${shape}]`);
  const outChannels = shape[shape.length - 1];
  const inChannels = shape[shape.length - 2];
  const spatial = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { spatial, inChannels, outChannels, size: spatial * inChannels * outChannels };
}

/** Flat kernel index of position j of group `group` under groups of size m. */
export function groupIndex(l: KernelLayout, m: number, group: number, j: number): number {
  const o = group % l.outChannels;
  const rg = (group - o) / l.outChannels;
  const groupsPerRow = l.inChannels / m;
  const g = rg % groupsPerRow;
  const r = (rg - g) / groupsPerRow;
  return (r * l.inChannels + g * m + j) * l.outChannels + o;
}

export function checkGroups(l: KernelLayout, m: number, where: string): void {
  if (l.inChannels % m !== 0) {
    throw new Error(
      `${where}: ${l.inChannels} input channels are not a multiple of M=${m}, so N:M groups do not fit`,
    );
  }
}
