/** A layer the rewrite replaced, and the layers that stand in its place (in order). */
export interface ReplacedLayer {
  name: string;
  className: string;
  by: { name: string; className: string }[];
  note?: string;
}

/** A layer the rewrite removed; its consumers read its input instead. */
export interface RemovedLayer {
  name: string;
  className: string;
  note?: string;
}

/** A layer the plan looked at and left as it was, with the reason. */
export interface KeptLayer {
  name: string;
  className: string;
  reason: string;
}

/** What `rewriteModel` did. Layers the plan did not mention are copied and not listed. */
export interface RewriteReport {
  replaced: ReplacedLayer[];
  removed: RemovedLayer[];
  kept: KeptLayer[];
}
