/** The VC mock's HTTP calls to its BN (or to the DV middleware standing in for one). */

export class BeaconHttpError extends Error {
  override readonly name = 'BeaconHttpError';
  constructor(
    readonly status: number,
    readonly body: unknown,
    route: string,
  ) {
    super(`${route} answered ${status}: ${JSON.stringify(body)}`);
  }
}

/** The parts of a Beacon API response body the VC reads. */
export type BeaconResponseBody = { data?: unknown; dependent_root?: string; version?: string; execution_payload_blinded?: boolean; block_value?: unknown } | undefined;

export type BeaconRequest = (
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
  headers?: Record<string, string>,
  timeoutMs?: number,
) => Promise<BeaconResponseBody>;

export const REQUEST_TIMEOUT_MS = 5_000;

/** JSON requests to `beaconUrl`, all cancelled by `abort`; a non-2xx answer throws a BeaconHttpError. */
export function beaconRequester(beaconUrl: string, abort: AbortSignal): BeaconRequest {
  return async (method, route, body, headers, timeoutMs = REQUEST_TIMEOUT_MS) => {
    const response = await fetch(new URL(route, beaconUrl), {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any([abort, AbortSignal.timeout(timeoutMs)]),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text for the error report.
    }
    if (!response.ok) throw new BeaconHttpError(response.status, parsed, `${method} ${route}`);
    return parsed as BeaconResponseBody;
  };
}

/**
 * How many of `sent` items the BN took although the call failed: a 400 `IndexedErrorMessage`
 * names the refused ones (types/http.yaml); any other failure took none.
 */
export function acceptedDespite(error: unknown, sent: number): number {
  if (!(error instanceof BeaconHttpError) || error.status !== 400) return 0;
  const failures = (error.body as { failures?: unknown[] } | undefined)?.failures;
  return Array.isArray(failures) ? Math.max(0, sent - failures.length) : 0;
}
