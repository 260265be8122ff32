// The shape of the code, as dependency-cruiser rules (.dependency-cruiser.cjs applies them to
// this checkout; `pnpm lint` runs them):
// - no import cycle anywhere in packages/*/src, `import type` included (a cycle through types is
//   still two modules that cannot be understood one without the other);
// - no upward import between packages: a package imports only itself and the workspace packages
//   its package.json declares in `dependencies`, and those must sit in a lower layer of LAYERS.
//   A package.json that declares a dependency against the layers is refused when the rules are
//   made, so the two cannot drift apart.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/** Lowest first: a package may depend only on packages of a lower layer. */
const LAYERS = [['core'], ['server', 'nginx', 'driver', 'hosts', 'report'], ['bench'], ['cli']];

/** Workspace packages `name` declares in dependencies (devDependencies are for its tests). */
function declaredWorkspaceDeps(packagesDir, name) {
  const manifest = JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8'));
  return Object.keys(manifest.dependencies ?? {})
    .filter((dep) => dep.startsWith('@scaleup/'))
    .map((dep) => dep.slice('@scaleup/'.length));
}

function checkLayers(packagesDir, packages, layers) {
  const layerOf = new Map(layers.flatMap((names, layer) => names.map((name) => [name, layer])));
  for (const name of packages) {
    if (!layerOf.has(name)) throw new Error(`dependency shape: package ${name} has no layer in LAYERS`);
    for (const dep of declaredWorkspaceDeps(packagesDir, name)) {
      if (!((layerOf.get(dep) ?? Number.POSITIVE_INFINITY) < layerOf.get(name))) {
        throw new Error(
          `dependency shape: packages/${name}/package.json declares @scaleup/${dep}, which is not in a lower layer`,
        );
      }
    }
  }
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One rule per package: anything under packages/ that is neither itself nor a declared dependency. */
function layerRules(packagesDir, packages) {
  return packages.flatMap((name) => {
    const allowed = new Set([name, ...declaredWorkspaceDeps(packagesDir, name)]);
    const forbidden = packages.filter((other) => !allowed.has(other));
    if (forbidden.length === 0) return [];
    return [
      {
        name: `upward-from-${name}`,
        comment: `packages/${name} may import only ${[...allowed].sort().join(', ')}`,
        severity: 'error',
        from: { path: `^packages/${escapeRegExp(name)}/` },
        to: { path: `^packages/(${forbidden.map(escapeRegExp).join('|')})/` },
      },
    ];
  });
}

/**
 * The dependency-cruiser configuration for the monorepo at `rootDir` (run depcruise from there).
 * @returns {import('dependency-cruiser').IConfiguration}
 */
function shapeConfig(rootDir, layers = LAYERS) {
  const packagesDir = join(rootDir, 'packages');
  const packages = readdirSync(packagesDir)
    .filter((name) => existsSync(join(packagesDir, name, 'package.json')))
    .sort();
  checkLayers(packagesDir, packages, layers);
  return {
    forbidden: [
      {
        name: 'no-circular',
        comment: 'an import cycle (type imports included): these modules cannot be read one at a time',
        severity: 'error',
        from: {},
        to: { circular: true },
      },
      {
        name: 'no-unresolvable',
        comment: 'an import that resolves to nothing: a package used without being declared, or a typo',
        severity: 'error',
        from: {},
        to: { couldNotResolve: true },
      },
      ...layerRules(packagesDir, packages),
    ],
    options: {
      includeOnly: '^packages/[^/]+/src/',
      doNotFollow: { path: 'node_modules' },
      // Count `import type` too: a cycle through types is still a cycle.
      tsPreCompilationDeps: true,
      enhancedResolveOptions: {
        exportsFields: ['exports'],
        conditionNames: ['import', 'require', 'node', 'default'],
        extensions: ['.ts', '.mjs', '.js', '.d.ts'],
      },
    },
  };
}

module.exports = { LAYERS, shapeConfig };
