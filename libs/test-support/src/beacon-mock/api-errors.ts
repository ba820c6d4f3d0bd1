/** Error bodies of the Beacon API (types/http.yaml), shared by the mock's routes. */

/** `ErrorMessage`: 4xx/5xx answers, 501 included. */
export const errorBody = (code: number, message: string) => ({ code, message });

/** Why item `index` of a submitted list was refused. */
export interface IndexedFailure {
  readonly index: number;
  readonly message: string;
}

/** `IndexedErrorMessage`: a 400 naming each refused item of a submitted list; `what` names the items ("aggregate(s)"). */
export function indexedErrorBody(failures: readonly IndexedFailure[], what: string) {
  return {
    code: 400,
    message: `some failures: ${failures.length} ${what} refused`,
    failures: failures.map(({ index, message }) => ({ index, message })),
  };
}

/** A uint64 as the Beacon API writes it in JSON and queries: decimal, no sign, no leading zero. */
export const UINT = /^(0|[1-9][0-9]*)$/;
