// `npm run build` (and `prepare`, so a fresh clone, a git dependency and `npm pack` all build):
//  1. tsc compiles src/ and sim/ to ES modules in dist/esm/, mirroring the repository, with
//     source maps and declarations (tsconfig.build.json);
//  2. the few files a compiled module finds beside itself at run time are copied next to it;
//  3. esbuild bundles the library entry (src/index.ts) into one CommonJS file, dist/cjs/index.cjs,
//     for `require('leaksim')`, and the declarations are copied to dist/cjs/, where a package.json
//     says "commonjs", so a CommonJS consumer's TypeScript reads them as CommonJS.
// Only dist/esm/ and dist/cjs/, which this script creates, are replaced.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const ESM = join(ROOT, 'dist', 'esm');
const CJS = join(ROOT, 'dist', 'cjs');

/** Read at run time from beside the module that uses them: `new URL('./…', import.meta.url)`. */
export const RUNTIME_FILES = ['sim/targets/claude-mem/resolve-hook.mjs', 'sim/targets/claude-mem/stand-ins', 'sim/traffic-file/traffic.schema.json'];

rmSync(ESM, { recursive: true, force: true });
rmSync(CJS, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: ['ignore', process.stderr, 'inherit'] }); // stdout stays clean for `npm pack --json`

for (const path of RUNTIME_FILES) cpSync(join(ROOT, path), join(ESM, path), { recursive: true, force: false, errorOnExist: false });

await build({
  entryPoints: [join(ROOT, 'src', 'index.ts')],
  outfile: join(CJS, 'index.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Dependencies stay require()s of the consumer's node_modules; only leaksim's own code is bundled.
  packages: 'external',
  sourcemap: true,
  // import.meta does not exist in CommonJS: a module's own path becomes the bundle's (PACKAGE_ROOT
  // is found from there), and resolving tsx, needed only when running from source, require's.
  define: { 'import.meta.url': 'import_meta_url', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename', 'import.meta.resolve': 'import_meta_resolve' },
  banner: { js: "const import_meta_url = require('node:url').pathToFileURL(__filename).href;\nconst import_meta_resolve = (specifier) => require('node:url').pathToFileURL(require.resolve(specifier)).href;" },
  logLevel: 'warning',
});
writeFileSync(join(CJS, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
copyDeclarations(ESM, CJS);

function copyDeclarations(from, to) {
  for (const name of readdirSync(from)) {
    const path = join(from, name);
    if (statSync(path).isDirectory()) copyDeclarations(path, join(to, name));
    else if (name.endsWith('.d.ts')) {
      mkdirSync(to, { recursive: true });
      cpSync(path, join(to, name));
    }
  }
}
console.error(`leaksim: built ${relative(ROOT, ESM)}/ and ${relative(ROOT, CJS)}/`);

