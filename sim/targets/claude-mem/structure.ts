/**
 * What a claude-mem checkout's own source says about itself, read with the TypeScript compiler
 * API (parsing only, no type checking: a few milliseconds a file). The bridge follows these facts
 * instead of a list of versions or names:
 *
 *   exportNames            every name a module exports: a stand-in must export the same names
 *   constructorParameters  a class's constructor parameters by name and type: wired by name
 *   sessionPath            the files the session path loads (relative imports from the entry
 *                          files, type-only imports left out) and the packages it imports, with
 *                          the names it imports from each (a package not installed is stood in)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type * as TypeScript from 'typescript';

/**
 * The compiler, loaded by the first read of a source file: 9 MB of JavaScript, which every check
 * worker and `leaksim` command would otherwise compile at start-up (two thirds of a worker's
 * start from the build) though only a claude-mem target reads source. Every use of `ts` below is
 * on a node that sourceOf returned, so it is loaded by then.
 */
let ts: typeof TypeScript;

const parsed = new Map<string, TypeScript.SourceFile>();

function sourceOf(file: string): TypeScript.SourceFile {
  let source = parsed.get(file);
  if (!source) {
    ts ??= createRequire(import.meta.url)('typescript') as typeof TypeScript;
    source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    parsed.set(file, source);
  }
  return source;
}

const hasModifier = (node: TypeScript.Node, kind: TypeScript.SyntaxKind): boolean => (ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []).some((modifier) => modifier.kind === kind) : false);

/** The file a relative import names: claude-mem imports `./x.js` for `./x.ts`. */
export function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const stem = base.replace(/\.(c|m)?(j|t)sx?$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.tsx`, `${stem}.js`, `${stem}.mjs`, base, join(base, 'index.ts'), join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every value a module exports (`default` included when it has one), following `export * from './x'`. */
export function exportNames(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const names = new Set<string>();
  for (const statement of sourceOf(file).statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly) continue;
      if (!statement.exportClause) {
        const specifier = statement.moduleSpecifier;
        if (specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith('.')) {
          const target = resolveRelative(file, specifier.text);
          if (target) for (const name of exportNames(target, seen)) if (name !== 'default') names.add(name);
        }
      } else if (ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) if (!element.isTypeOnly) names.add(element.name.text);
      } else {
        names.add(statement.exportClause.name.text);
      }
      continue;
    }
    if (ts.isExportAssignment(statement)) {
      names.add('default');
      continue;
    }
    if (!hasModifier(statement, ts.SyntaxKind.ExportKeyword)) continue;
    if (hasModifier(statement, ts.SyntaxKind.DefaultKeyword)) {
      names.add('default');
      continue;
    }
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) if (ts.isIdentifier(declaration.name)) names.add(declaration.name.text);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    } else if (ts.isEnumDeclaration(statement) && !hasModifier(statement, ts.SyntaxKind.DeclareKeyword)) {
      names.add(statement.name.text);
    }
  }
  return [...names].sort();
}

export interface ConstructorParameter {
  readonly name: string;
  /** The type as written (`SessionManager`, `ClaudeProvider`), or '' when none is written. */
  readonly type: string;
  /** Optional or with a default: claude-mem's worker may leave it out. */
  readonly optional: boolean;
}

/** The constructor parameters of `className` in `file`, or undefined when the file declares no such class. */
export function constructorParameters(file: string, className: string): ConstructorParameter[] | undefined {
  const source = sourceOf(file);
  for (const statement of source.statements) {
    if (!ts.isClassDeclaration(statement) || statement.name?.text !== className) continue;
    const constructor = statement.members.find(ts.isConstructorDeclaration);
    if (!constructor) return [];
    return constructor.parameters.map((parameter) => ({
      name: parameter.name.getText(source),
      type: parameter.type ? parameter.type.getText(source) : '',
      optional: parameter.questionToken !== undefined || parameter.initializer !== undefined,
    }));
  }
  return undefined;
}

/** Whether `file` declares a method (or property) named `name` on class `className`. */
export function classHasMember(file: string, className: string, name: string): boolean {
  for (const statement of sourceOf(file).statements) {
    if (!ts.isClassDeclaration(statement) || statement.name?.text !== className) continue;
    return statement.members.some((member) => member.name !== undefined && ts.isIdentifier(member.name) && member.name.text === name);
  }
  return false;
}

export interface SessionPath {
  /** The checkout's files the session path loads, relative to the checkout, sorted. */
  readonly files: readonly string[];
  /** Bare packages imported on the path that are not installed beside the checkout, with the names imported from each. */
  readonly missingPackages: Readonly<Record<string, readonly string[]>>;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageName = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

function installed(fromFile: string, name: string): boolean {
  for (let folder = dirname(fromFile); ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'node_modules', name, 'package.json'))) return true;
    if (dirname(folder) === folder) return false;
  }
}

/** The value imports of one file: specifier → names imported ('default' for a default import, '*' for a namespace). */
function valueImports(file: string): Map<string, Set<string>> {
  const imports = new Map<string, Set<string>>();
  const add = (specifier: string, name: string | undefined) => {
    let names = imports.get(specifier);
    if (!names) imports.set(specifier, (names = new Set()));
    if (name) names.add(name);
  };
  const visit = (node: TypeScript.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const specifier = node.moduleSpecifier.text;
      if (!clause) add(specifier, undefined);
      else if (!clause.isTypeOnly) {
        const named = clause.namedBindings;
        const values = named && ts.isNamedImports(named) ? named.elements.filter((element) => !element.isTypeOnly) : [];
        if (!clause.name && named && ts.isNamedImports(named) && values.length === 0 && named.elements.length > 0) return;
        if (clause.name) add(specifier, 'default');
        if (named && ts.isNamespaceImport(named)) add(specifier, '*');
        for (const element of values) add(specifier, (element.propertyName ?? element.name).text);
        if (!clause.name && !named) add(specifier, undefined);
      }
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      add(node.moduleSpecifier.text, '*');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, '*');
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceOf(file));
  return imports;
}

/**
 * The files the session path loads from `entries` (paths relative to the checkout), not going into
 * `replaced` (files leaksim stands in, relative and without extension).
 */
export function sessionPath(root: string, entries: readonly string[], replaced: ReadonlySet<string> = new Set()): SessionPath {
  const files = new Set<string>();
  const missing = new Map<string, Set<string>>();
  const queue = entries.map((entry) => join(root, entry));
  while (queue.length > 0) {
    const file = queue.pop()!;
    const inside = relative(root, file).split(sep).join('/');
    if (files.has(inside)) continue;
    files.add(inside);
    for (const [specifier, names] of valueImports(file)) {
      if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        if (!target) continue;
        const targetInside = relative(root, target).split(sep).join('/');
        if (targetInside.startsWith('..') || replaced.has(targetInside.replace(/\.(c|m)?(j|t)sx?$/, ''))) continue;
        queue.push(target);
      } else if (!isBuiltin(specifier) && !specifier.startsWith('bun:')) {
        const name = packageName(specifier);
        if (installed(file, name)) continue;
        let known = missing.get(specifier);
        if (!known) missing.set(specifier, (known = new Set()));
        for (const imported of names) known.add(imported);
      }
    }
  }
  const missingPackages: Record<string, string[]> = {};
  for (const specifier of [...missing.keys()].sort()) missingPackages[specifier] = [...missing.get(specifier)!].sort();
  return { files: [...files].sort(), missingPackages };
}

/**
 * The value of a top-level `const NAME = <arithmetic on number literals>` in `file` (claude-mem
 * writes `const IDLE_TIMEOUT_MS = 3 * 60 * 1000`), or undefined when the file has no such constant.
 */
export function numericConstant(file: string, name: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const evaluate = (node: TypeScript.Expression): number | undefined => {
    if (ts.isNumericLiteral(node)) return Number(node.text.replace(/_/g, ''));
    if (ts.isParenthesizedExpression(node)) return evaluate(node.expression);
    if (ts.isBinaryExpression(node)) {
      const left = evaluate(node.left);
      const right = evaluate(node.right);
      if (left === undefined || right === undefined) return undefined;
      if (node.operatorToken.kind === ts.SyntaxKind.AsteriskToken) return left * right;
      if (node.operatorToken.kind === ts.SyntaxKind.PlusToken) return left + right;
      if (node.operatorToken.kind === ts.SyntaxKind.MinusToken) return left - right;
    }
    return undefined;
  };
  for (const statement of sourceOf(file).statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer) return evaluate(declaration.initializer);
    }
  }
  return undefined;
}

/** The strings of a top-level `const NAME = new Set([...string literals])` in `file` (7.x's save-hook SKIP_TOOLS), or undefined. */
export function stringSetConstant(file: string, name: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  for (const statement of sourceOf(file).statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name) || declaration.name.text !== name || !declaration.initializer) continue;
      const initializer = declaration.initializer;
      if (!ts.isNewExpression(initializer) || !initializer.arguments?.[0] || !ts.isArrayLiteralExpression(initializer.arguments[0])) return undefined;
      return initializer.arguments[0].elements.filter(ts.isStringLiteral).map((element) => element.text);
    }
  }
  return undefined;
}

/**
 * Whether a `.finally(…)` callback in `file` aborts a session's controller
 * (`….abortController.abort()`): from 8.5.x the routes abort a generator that ended with no pending
 * work ("abort to kill the child process"); before, a finished generator's controller stays live.
 * The behavioural eras differ by it (watchdog-not-early and shutdown-waits are judged on aborts).
 */
export function finallyAbortsController(file: string): boolean {
  if (!existsSync(file)) return false;
  let found = false;
  const isAbortCall = (node: TypeScript.Node): boolean =>
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    node.expression.name.text === 'abort' &&
    ts.isPropertyAccessExpression(node.expression.expression) &&
    node.expression.expression.name.text === 'abortController';
  const inside = (node: TypeScript.Node): void => {
    if (found) return;
    if (isAbortCall(node)) found = true;
    else ts.forEachChild(node, inside);
  };
  const visit = (node: TypeScript.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'finally') {
      for (const argument of node.arguments) inside(argument);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceOf(file));
  return found;
}
