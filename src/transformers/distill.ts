// Distillation for the GPT family: the model-agnostic loss and step of src/lowrank/distill.ts
// (logits at temperature T plus labels; optional hidden-state pairs).
export {
  type DistillOptions,
  distillationLoss,
  distillStep,
  type FeaturePair,
} from '../lowrank/distill.js';
