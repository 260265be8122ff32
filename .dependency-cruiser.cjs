// `pnpm lint` runs `depcruise packages` with this: no import cycle (type imports included) and no
// upward import between packages. The rules and the package layers: scripts/dependency-shape.cjs.
module.exports = require('./scripts/dependency-shape.cjs').shapeConfig(__dirname);
