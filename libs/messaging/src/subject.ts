/**
 * NATS subject matching: tokens split on `.`, `*` matches exactly one token, `>` (last token
 * only) matches one or more remaining tokens. https://docs.nats.io/nats-concepts/subjects
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const token = f[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return f.length === s.length;
}

/** True when some concrete subject matches both filters (JetStream refuses overlapping stream subjects). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === '>' || q === '>') return true;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
  return x.length === y.length;
}

export function isValidSubject(subject: string, allowWildcards: boolean): boolean {
  if (subject.length === 0 || /\s/.test(subject)) return false;
  const tokens = subject.split('.');
  return tokens.every((token, i) => {
    if (token.length === 0) return false;
    if (token === '*' || token === '>') return allowWildcards && (token === '*' || i === tokens.length - 1);
    return !token.includes('*') && !token.includes('>');
  });
}
