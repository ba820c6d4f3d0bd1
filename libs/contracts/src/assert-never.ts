/** Ends an exhaustive `switch`: adding a union member fails the build until it is handled. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
