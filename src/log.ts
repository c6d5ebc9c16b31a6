// JSON log lines, one object per line on stderr, so stdout stays free for command output
// and `kubectl logs` / journald can parse every line.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level = 'info';
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: Level): void {
  threshold = level;
}

/** Redirects log output (tests, or a CLI that wants logs on stdout). */
export function setLogSink(write: (line: string) => void): void {
  sink = write;
}

export function isLevel(s: string): s is Level {
  return s in rank;
}

function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (rank[level] < rank[threshold]) return;
  const entry = { time: new Date().toISOString(), level, msg, ...fields };
  sink(JSON.stringify(entry, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
};
