// Node loader hook for tests: makes @duckdb/* unresolvable, as on a machine where the optional
// dependency could not be installed, and reports every attempt to load it on stderr.
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@duckdb/')) {
    process.stderr.write('[no-duckdb] resolve ' + specifier + '\\n');
    const e = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hook));
