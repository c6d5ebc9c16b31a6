// Preload (NODE_OPTIONS=--import .../clock-jump.mjs) that lets a test jump ONE process's wall clock,
// as an NTP step or a VM resume would, without touching the machine's clock (shared by everyone):
// on SIGUSR2 it adds the number of milliseconds in $OELB_CLOCK_JUMP_FILE to Date (Date.now(),
// new Date(), Date()). Monotonic time (performance.now, timers) is left alone, as the kernel does
// for a real CLOCK_REALTIME step. Plain JavaScript: it loads before any TypeScript loader.
import { readFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.OELB_CLOCK_JUMP_FILE;
if (file) {
  const RealDate = Date;
  let offset = 0;
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...args);
    }
    static now() {
      return RealDate.now() + offset;
    }
  }
  // Date() called as a function returns a string of the current time.
  const DateProxy = new Proxy(ShiftedDate, {
    apply: () => new ShiftedDate().toString(),
  });
  globalThis.Date = DateProxy;
  process.on('SIGUSR2', () => {
    const jump = Number(readFileSync(file, 'utf8').trim()) || 0;
    offset += jump;
    process.stderr.write(JSON.stringify({ msg: `clock-jump: wall clock moved by ${jump} ms`, offsetMs: offset }) + '\n');
  });
}
