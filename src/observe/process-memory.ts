// The process's own memory on /metrics, read at scrape time: what the memory benchmark
// (scripts/bench/memory.ts) and an operator watching a speaker's limit need. process.memoryUsage()
// works on Node and Deno alike.
import process from 'node:process';
import type { Registry } from './metrics.ts';

export function registerProcessMemory(registry: Registry): void {
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident set size of this process.');
  const heapUsed = registry.gauge('nodejs_heap_size_used_bytes', 'JavaScript heap in use.');
  const heapTotal = registry.gauge('nodejs_heap_size_total_bytes', 'JavaScript heap reserved.');
  const external = registry.gauge('nodejs_external_memory_bytes', 'Memory of buffers and other objects outside the JavaScript heap.');
  registry.onCollect(() => {
    const m = process.memoryUsage();
    rss.set({}, m.rss);
    heapUsed.set({}, m.heapUsed);
    heapTotal.set({}, m.heapTotal);
    external.set({}, m.external);
  });
}
