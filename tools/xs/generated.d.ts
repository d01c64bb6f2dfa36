// Modules made at bundle time by tools/xs/bundle.ts (bundleForXsWithClasses).
declare module "generated:classes" {
  /** The module namespace of every TypeScript module of the repository in the bundle. */
  export const namespaces: ReadonlyArray<Record<string, unknown>>;
}
