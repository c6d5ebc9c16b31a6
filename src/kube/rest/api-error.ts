// An HTTP error answer from the API server. Shaped like client-node's ApiException (`code` is the
// HTTP status, `body` the response text, usually a JSON metav1.Status) so errors.ts classifies
// both alike.
import { parseObject } from './json.ts';

export class ApiError extends Error {
  readonly code: number;
  readonly body: string;

  constructor(code: number, body: string, what: string) {
    const status = parseObject(body);
    const detail = status
      ? typeof status.message === 'string'
        ? `: ${status.message}`
        : ''
      : body
        ? `: ${body.slice(0, 200)}`
        : '';
    super(`HTTP ${code} from ${what}${detail}`);
    this.name = 'ApiError';
    this.code = code;
    this.body = body;
  }
}
