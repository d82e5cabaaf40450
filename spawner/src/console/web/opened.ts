/**
 * The open instance page and its loads (no DOM here: unit-tested in Node). Loads overlap: a route
 * change, pushed rows and events, the answer to an action. Each load is for the instance the
 * address names *now*, never for a name remembered from the page shown before it (a push for that
 * one would load it again over the new page), and only the newest load's answer is shown.
 */
export function openInstance(hash: string): string | null {
  if (!hash.startsWith('#/i/')) return null;
  try {
    return decodeURIComponent(hash.slice(4));
  } catch {
    return null; // a malformed escape names no instance
  }
}

export interface LoaderDeps<T> {
  hash(): string;
  fetch(name: string): Promise<T>;
  show(name: string, answer: T): void;
}

/** Returns reload(): load the open instance, and show the answer if it is still the newest one for the open page. */
export function detailLoader<T>(deps: LoaderDeps<T>): () => Promise<void> {
  let seq = 0;
  return async () => {
    const name = openInstance(deps.hash());
    if (name === null) return;
    const mine = ++seq;
    const answer = await deps.fetch(name);
    if (mine === seq && openInstance(deps.hash()) === name) deps.show(name, answer);
  };
}
