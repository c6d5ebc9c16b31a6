// Live V8 heap per announced address (issue 12: growth per additional Service), measured in one
// process with forced collections: the real Announcer on a real AF_PACKET socket in a network
// namespace, N addresses then 2N, bytes per address = heap difference / N (what is counted and
// why: scripts/bench/memory-per-address-child.ts). Needs root. Not a timing: the figure does not
// depend on the machine's load.
//   npx tsx scripts/bench/memory-per-address.ts [N]     -> one JSON object on stdout
import process from 'node:process';
import { Lab } from '../kit/netns.ts';
import { addressHeap } from '../kit/address-heap.ts';

const n = Number(process.argv[2] ?? 2000);
const lab = await Lab.create();
try {
  const r = await addressHeap(lab, n);
  process.stdout.write(JSON.stringify({ node: process.version, bytesPerAddress: r }) + '\n');
} finally {
  await lab.teardown();
}
