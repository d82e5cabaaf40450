/**
 * Minimal ESM loader so Node 20 can run the repository's TypeScript scripts directly:
 *   node --import ./scripts/ts-loader.mjs scripts/bench.ts
 * Imported with --import it registers itself as a module-customization hook (module.register);
 * in the hooks thread it (1) maps a relative `./x.js` import to `./x.ts` when only the .ts file
 * exists (NodeNext-style specifiers, as in the sources) and (2) transpiles .ts files with the
 * installed `typescript` package (transpileModule: no type checking, that is `npm run typecheck`).
 */
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

if (isMainThread) register(import.meta.url);

let ts;
async function typescript() {
  ts ??= (await import('typescript')).default;
  return ts;
}

export async function resolve(specifier, context, nextResolve) {
  const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('file:');
  if (relative && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
    const asTs = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    const asJs = new URL(specifier, context.parentURL);
    if (!existsSync(fileURLToPath(asJs)) && existsSync(fileURLToPath(asTs))) {
      return { url: asTs.href, shortCircuit: true, format: 'module' };
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !/\.[cm]?ts$/.test(url) || url.endsWith('.d.ts')) return nextLoad(url, context);
  const t = await typescript();
  const source = await readFile(fileURLToPath(url), 'utf8');
  const out = t.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: {
      module: t.ModuleKind.ESNext,
      target: t.ScriptTarget.ES2022,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
