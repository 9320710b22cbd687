// Pipeline parallelism, browser-safe parts: schedules (GPipe, PipeDream-Flush, PipeDream-2BW),
// the memory-aware stage planner and the discrete-event simulator (docs/pipeline.md).
export * from './delayed.js';
export * from './planner.js';
export * from './schedule.js';
export * from './simulator.js';
