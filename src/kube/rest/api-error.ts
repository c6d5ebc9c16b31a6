// An HTTP error answer from the API server. Shaped like client-node's ApiException (`code` is the
// HTTP status, `body` the response text, usually a JSON metav1.Status) so errors.ts classifies
// both alike.

export class ApiError extends Error {
  readonly code: number;
  readonly body: string;

  constructor(code: number, body: string, what: string) {
    let detail = '';
    try {
      const s = JSON.parse(body) as { message?: unknown };
      if (typeof s.message === 'string') detail = `: ${s.message}`;
    } catch {
      detail = body ? `: ${body.slice(0, 200)}` : '';
    }
    super(`HTTP ${code} from ${what}${detail}`);
    this.name = 'ApiError';
    this.code = code;
    this.body = body;
  }
}
