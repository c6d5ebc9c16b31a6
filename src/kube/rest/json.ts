// JSON from the API server that may not be JSON (a proxy's HTML error page, a cut-off line).

/** The parsed object, or undefined when `text` is not JSON or not an object. Pure. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
