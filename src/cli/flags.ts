// A small flag parser: every flag has a long form, an environment variable and a help line,
// so the DaemonSet can be configured either way (SPEC.md §1 "Speaker flags").

export interface FlagSpec {
  name: string; // without the leading "--"
  env?: string;
  help: string;
  kind: 'string' | 'boolean' | 'number' | 'list';
  default?: string | boolean | number | string[];
  /**
   * Set on flags that upstream OpenELB defines but that do nothing here: the value is parsed (so
   * upstream's manifests start unchanged) and this text says why it does not apply.
   */
  ignoredBecause?: string;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export class UsageError extends Error {}

function parseBool(name: string, raw: string): boolean {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new UsageError(`--${name}: expected true or false, got "${raw}"`);
}

function parseNumber(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name}: expected a number, got "${raw}"`);
  return n;
}

function convert(spec: FlagSpec, raw: string): string | boolean | number {
  if (spec.kind === 'boolean') return parseBool(spec.name, raw);
  if (spec.kind === 'number') return parseNumber(spec.name, raw);
  return raw;
}

/**
 * Parses argv against specs. Precedence: command line, then environment, then default.
 * Accepts `--name value`, `--name=value`, and bare `--name` for booleans.
 */
export function parseFlags(
  specs: FlagSpec[],
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): { values: FlagValues; rest: string[]; given: Set<string> } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: FlagValues = {};
  const rest: string[] = [];
  /** Flags set on the command line or through their environment variable (not by default). */
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (spec.kind === 'boolean' && (argv[i + 1] === undefined || !/^(true|false)$/i.test(argv[i + 1]!))) raw = 'true';
    else {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      raw = next;
    }
    if (spec.kind === 'list') {
      const prev = (values[name] as string[] | undefined) ?? [];
      values[name] = [...prev, ...raw.split(',').filter((s) => s !== '')];
    } else values[name] = convert(spec, raw);
    given.add(name);
  }
  for (const spec of specs) {
    if (values[spec.name] !== undefined) continue;
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      values[spec.name] = spec.kind === 'list' ? fromEnv.split(',').filter((s) => s !== '') : convert(spec, fromEnv);
      given.add(spec.name);
    } else values[spec.name] = spec.default;
  }
  return { values, rest, given };
}

export function helpText(command: string, summary: string, specs: FlagSpec[]): string {
  const lines = [`usage: openelb-ts ${command} [flags]`, '', summary, '', 'flags:'];
  for (const s of specs) {
    const def = s.default === undefined ? '' : ` (default ${Array.isArray(s.default) ? s.default.join(',') : s.default})`;
    const env = s.env ? ` [env ${s.env}]` : '';
    lines.push(`  --${s.name}${s.kind === 'boolean' ? '' : ' VALUE'}`);
    lines.push(`      ${s.help}${def}${env}${s.ignoredBecause ? ` [OpenELB flag, ignored: ${s.ignoredBecause}]` : ''}`);
  }
  return lines.join('\n');
}

/**
 * The one start-up warning for upstream flags that were given but do not apply, naming each with
 * the reason; undefined when none was given. Pure.
 */
export function ignoredFlagsWarning(specs: readonly FlagSpec[], given: ReadonlySet<string>): string | undefined {
  const named = specs.filter((s) => s.ignoredBecause && given.has(s.name)).map((s) => `--${s.name} (${s.ignoredBecause})`);
  return named.length ? `ignoring OpenELB flags that do not apply to openelb-ts: ${named.join('; ')}` : undefined;
}
