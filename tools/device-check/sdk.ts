/**
 * The Moddable SDK host tools the device check runs: `mcconfig`, `xsc`, `xsid` and `xsl`, either from a
 * full SDK the user names (`MODDABLE=...`, tools already built) or built once from the vendored subset
 * (vendor/moddable), unpacked and compiled into a cache folder named after the tarball's hash.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";

/** The vendored subset (vendor/moddable/README.md says how it was cut). */
export const VENDORED_SDK = {
  tarball: "vendor/moddable/moddable-sdk-8.2.3-subset.tgz",
  sha256: "ae88a173d5d90207b4ab0d9893894ed3249f79c95bcdec8b912a6d740b8d1c87",
  version: "8.2.3",
  commit: "48ee02d8cfe0dccb51ee2465cf6716b3468684a4",
};

/** The tools the check runs, by the name of their file in the SDK's bin folder. */
const TOOLS = ["mcconfig", "xsc", "xsid", "xsl"] as const;
/** The SDK's makefiles that build them, relative to $MODDABLE (the SDK's Linux tool build). */
const TOOL_MAKEFILES = ["xs/makefiles/lin/xsc.mk", "xs/makefiles/lin/xsid.mk", "xs/makefiles/lin/xsl.mk", "build/makefiles/lin/tools.mk"];

export interface SdkTools {
  /** $MODDABLE: the SDK's root. */
  moddable: string;
  /** The folder holding mcconfig, xsc, xsid and xsl. */
  bin: string;
  /** The SDK's version (tools/VERSION). */
  version: string;
  /** Where it came from: the vendored tarball (and its cache folder) or the user's MODDABLE. */
  source: "vendored" | "MODDABLE";
  /** True when this run built the tools (the first run after a clone, or a new tarball). */
  built: boolean;
}

/** A build prerequisite that is missing, with the Debian package that provides it. */
export interface MissingPrerequisite {
  what: string;
  debianPackage: string;
}

export class SdkError extends Error {
  override name = "SdkError";
}

const onPath = (command: string): boolean => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

/** What building the SDK's tools needs and this machine lacks (tools.mk links gio-2.0 through pkg-config). */
export function missingBuildPrerequisites(has: (command: string) => boolean = onPath, gio = (): boolean => spawnSync("pkg-config", ["--exists", "gio-2.0"]).status === 0): MissingPrerequisite[] {
  const missing: MissingPrerequisite[] = [];
  for (const [command, pkg] of [["gcc", "gcc"], ["make", "make"], ["pkg-config", "pkg-config"]] as const) if (!has(command)) missing.push({ what: command, debianPackage: pkg });
  if (!has("pkg-config") || !gio()) missing.push({ what: "the GLib gio-2.0 development files", debianPackage: "libglib2.0-dev" });
  return missing;
}

/** The exact message for missing prerequisites: what is missing and the one command that installs it. */
export function prerequisitesMessage(missing: MissingPrerequisite[]): string {
  const packages = [...new Set(missing.map((m) => m.debianPackage))];
  return (
    `device-check: building the Moddable SDK's tools needs ${missing.map((m) => m.what).join(", ")}.\n` +
    `Install ${packages.length > 1 ? "them" : "it"} (Debian, Ubuntu), then run the check again:\n` +
    `  sudo apt-get install -y --no-install-recommends ${packages.join(" ")}`
  );
}

export function sha256Of(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

const toolsIn = (bin: string): boolean => TOOLS.every((t) => existsSync(join(bin, t)));

/** The tools of a full SDK at `moddable` (MODDABLE=...), which must be built already. */
export function userSdk(moddable: string): SdkTools {
  const root = resolve(moddable);
  const bin = join(root, "build/bin/lin/release");
  if (!existsSync(join(root, "tools/VERSION"))) throw new SdkError(`MODDABLE=${moddable}: not a Moddable SDK (no tools/VERSION)`);
  if (!toolsIn(bin)) throw new SdkError(`MODDABLE=${moddable}: the SDK's tools are not built (no ${TOOLS.join(", ")} in ${bin}); build them with: cd $MODDABLE/build/makefiles/lin && make`);
  return { moddable: root, bin, version: readFileSync(join(root, "tools/VERSION"), "utf8").trim(), source: "MODDABLE", built: false };
}

/**
 * The tools built from the vendored subset, in `cacheDir/moddable-<version>-<hash>`: reused when
 * complete, else unpacked and built in a temporary folder beside it and moved into place, so an
 * interrupted build never leaves a half-built SDK that a later run would trust.
 */
export function vendoredSdk(root: string, cacheDir: string, log: (line: string) => void = () => {}): SdkTools {
  const tarball = join(root, VENDORED_SDK.tarball);
  if (!existsSync(tarball)) throw new SdkError(`${VENDORED_SDK.tarball} is missing`);
  const hash = sha256Of(tarball);
  if (hash !== VENDORED_SDK.sha256) throw new SdkError(`${VENDORED_SDK.tarball}: sha256 ${hash}, expected ${VENDORED_SDK.sha256} (vendor/moddable/README.md)`);
  const home = join(resolve(cacheDir), `moddable-${VENDORED_SDK.version}-${hash.slice(0, 12)}`);
  const moddable = join(home, "moddable");
  const bin = join(moddable, "build/bin/lin/release");
  const complete = join(home, "complete");
  if (existsSync(complete) && toolsIn(bin)) return { moddable, bin, version: VENDORED_SDK.version, source: "vendored", built: false };

  const missing = missingBuildPrerequisites();
  if (missing.length) throw new SdkError(prerequisitesMessage(missing));
  const work = `${home}.building-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  log(`building the Moddable SDK ${VENDORED_SDK.version} tools from ${VENDORED_SDK.tarball} into ${home} (once; about a minute on two cores)`);
  try {
    execFileSync("tar", ["-xzf", tarball, "-C", work]);
    const sdk = join(work, "moddable");
    const env = { ...process.env, MODDABLE: sdk, XS_DIR: join(sdk, "xs"), BUILD_DIR: join(sdk, "build") };
    for (const mk of TOOL_MAKEFILES) {
      const r = spawnSync("make", ["GOAL=release", `-j${Math.min(4, availableParallelism())}`, "-f", join(sdk, mk)], { cwd: join(sdk, "build/makefiles/lin"), env, encoding: "utf8", maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new SdkError(`building the SDK's tools failed (make -f ${mk}):\n${(r.stdout + r.stderr).split("\n").slice(-25).join("\n")}`);
    }
    writeFileSync(join(work, "complete"), `${VENDORED_SDK.sha256}\n`);
    // Another check may have finished the same build meanwhile: then its copy stays.
    if (!existsSync(complete)) {
      rmSync(home, { recursive: true, force: true });
      renameSync(work, home);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { moddable, bin, version: VENDORED_SDK.version, source: "vendored", built: true };
}
