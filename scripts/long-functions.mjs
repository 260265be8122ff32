#!/usr/bin/env node
// Lists every function (declaration, method, arrow, function expression, accessor, constructor)
// whose span exceeds a limit, in packages/*/src. The span counts lines from the first line of the
// function (its signature, decorators and leading comments excluded) to its closing line, inclusive,
// so a nested function counts inside its parent as well as on its own line.
//
//   node scripts/long-functions.mjs               functions over 120 lines, exit 1 if any
//   node scripts/long-functions.mjs --max 80      another limit
//   node scripts/long-functions.mjs --top 10      the 10 longest, whatever their length (exit 0)
//   node scripts/long-functions.mjs --json        one JSON document instead of text
//   node scripts/long-functions.mjs packages/server/src packages/nginx/src   only these trees
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

function parseArgs(argv) {
  const args = { max: 120, top: undefined, json: false, dirs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--max' || arg === '--top') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) {
        console.error(`long-functions: ${arg} wants a whole number, got ${JSON.stringify(argv[i])}`);
        process.exit(2);
      }
      args[arg.slice(2)] = value;
    } else if (arg === '--json') args.json = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node scripts/long-functions.mjs [--max N | --top N] [--json] [dir...]');
      process.exit(0);
    } else args.dirs.push(resolve(arg));
  }
  if (args.dirs.length === 0) {
    const packages = join(root, 'packages');
    for (const name of readdirSync(packages).sort()) {
      const src = join(packages, name, 'src');
      if (statSync(src, { throwIfNoEntry: false })?.isDirectory()) args.dirs.push(src);
    }
  }
  return args;
}

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...sourceFiles(path));
    } else if (/\.(m|c)?[jt]sx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

function isFunction(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

function nameOf(node) {
  if (node.name && !ts.isComputedPropertyName(node.name)) return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))) {
    return parent.name.getText();
  }
  if (parent && ts.isPropertyDeclaration(parent)) return parent.name.getText();
  if (parent && ts.isCallExpression(parent)) {
    return `<callback of ${parent.expression.getText().slice(0, 40)}>`;
  }
  return '<anonymous>';
}

/** With its enclosing class, so `start` reads as `Supervisor.start`. */
function qualifiedName(node) {
  const parts = [nameOf(node)];
  for (let p = node.parent; p; p = p.parent) {
    if (ts.isClassDeclaration(p) || ts.isClassExpression(p)) {
      parts.unshift(p.name?.getText() ?? '<class>');
      break;
    }
  }
  return parts.join('.');
}

function functionsIn(file) {
  const text = readFileSync(file, 'utf8');
  const kind = /\.[cm]?tsx?$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const found = [];
  const visit = (node) => {
    if (isFunction(node) && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      found.push({
        file: relative(root, file),
        line: start,
        lines: end - start + 1,
        name: qualifiedName(node),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const args = parseArgs(process.argv.slice(2));
const all = [];
for (const dir of args.dirs) {
  for (const file of sourceFiles(dir)) all.push(...functionsIn(file));
}
all.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
const shown = args.top === undefined ? all.filter((f) => f.lines > args.max) : all.slice(0, args.top);

if (args.json) {
  console.log(JSON.stringify({ max: args.top === undefined ? args.max : null, functions: shown }, null, 2));
} else {
  for (const f of shown) console.log(`${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}`);
  if (args.top === undefined) {
    console.log(`${shown.length} function(s) over ${args.max} lines in ${args.dirs.length} source tree(s)`);
  }
}
process.exit(args.top === undefined && shown.length > 0 ? 1 : 0);
