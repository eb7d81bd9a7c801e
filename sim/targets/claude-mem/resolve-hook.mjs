/**
 * A Node module-resolution hook (registered with `module.register`) that loads claude-mem's own
 * files from a checkout unchanged, except for the few modules that cannot run under Node or must
 * not touch the user's machine: those imports are redirected to leaksim's stand-ins.
 *
 * Plain JavaScript because Node runs resolution hooks on a thread of their own, before tsx.
 *
 * `data` (from `register`): { root: absolute checkout path, redirects: { [fromPath]: toUrl } }
 * where `fromPath` is a path inside the checkout without its extension ("src/utils/logger") or a
 * bare specifier ("bun:sqlite", "zod"). A bare specifier is redirected only when a file inside
 * the checkout imports it, so leaksim's own imports are never affected.
 */
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @type {{ root: string, redirects: Record<string, string> }[]} */
const checkouts = [];

export function initialize(data) {
  checkouts.push({ root: data.root, redirects: data.redirects });
}

function checkoutOf(path) {
  for (const checkout of checkouts) {
    const inside = relative(checkout.root, path);
    if (!inside.startsWith('..') && !inside.startsWith(sep)) return { checkout, inside };
  }
  return undefined;
}

export async function resolve(specifier, context, nextResolve) {
  const parentURL = context.parentURL;
  if (parentURL?.startsWith('file:')) {
    const parentPath = fileURLToPath(parentURL.split('?')[0]);
    const parent = checkoutOf(parentPath);
    if (parent) {
      if (specifier.startsWith('.')) {
        const target = join(dirname(parentPath), specifier.split('?')[0]);
        const inside = relative(parent.checkout.root, target).split(sep).join('/').replace(/\.(c|m)?(j|t)sx?$/, '');
        const redirect = parent.checkout.redirects[inside];
        if (redirect) return nextResolve(redirect, context);
      } else {
        const redirect = parent.checkout.redirects[specifier];
        if (redirect) return nextResolve(redirect, context);
      }
    }
  }
  return nextResolve(specifier, context);
}
