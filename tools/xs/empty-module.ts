// Stands in for Node's "crypto" in bundles for XS (see bundle.ts).
export default {};
