#!/usr/bin/env node
// What the test command needs besides npm packages, and how it gets it: each entry is a Debian
// package with a file that proves it is there. Missing ones are installed with apt-get when this
// user may (root, or sudo without a password); otherwise the script prints the exact command to run
// and fails, so a test never fails later for a reason it could have named here.
//
//   node tools/prereqs.mjs            check, install what is missing where allowed
//   node tools/prereqs.mjs --check    check only (exit 1 and the command when something is missing)
//   node tools/prereqs.mjs --list     the Debian package names, one per line
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

/** Debian's PostgreSQL server binaries live in /usr/lib/postgresql/<version>/bin, whatever the version. */
const postgresServer = () => existsSync("/usr/lib/postgresql") && readdirSync("/usr/lib/postgresql").some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));

/** Debian package, the file it installs that the tests use (or a check), and what for. */
const PREREQUISITES = [
  { pkg: "postgresql", proof: "/usr/lib/postgresql/<version>/bin/initdb", found: postgresServer, why: "the database of the fleet head-end's tests and benchmark (a throw-away cluster per run)" },
  { pkg: "mosquitto", proof: "/usr/sbin/mosquitto", why: "the real MQTT broker of the end-to-end tests" },
  { pkg: "chromium", proof: "/usr/bin/chromium", why: "the headless browser the HTML report is opened in by its test and by npm run report:screenshot" },
  { pkg: "fonts-dejavu-core", proof: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", why: "a font for Chromium to draw the report's text with" },
  { pkg: "socat", proof: "/usr/bin/socat", why: "the simulated console on a pseudo-terminal (simulate --console pty)" },
  // The device check builds the Moddable SDK's host tools (xsc, xsl, mcconfig) from vendor/moddable.
  { pkg: "gcc", proof: "/usr/bin/gcc", why: "compiles the Moddable SDK's host tools (npm run device-check)" },
  { pkg: "make", proof: "/usr/bin/make", why: "builds the Moddable SDK's host tools and drives mcconfig's makefile (npm run device-check)" },
  { pkg: "pkg-config", proof: "/usr/bin/pkg-config", why: "finds GLib for the Moddable SDK's tools (npm run device-check)" },
  { pkg: "libglib2.0-dev", proof: "/usr/include/glib-2.0/gio/gio.h", why: "gio-2.0, linked by the Moddable SDK's mcconfig (npm run device-check)" },
];

const args = new Set(process.argv.slice(2));
if (args.has("--list")) {
  for (const p of PREREQUISITES) console.log(p.pkg);
  process.exit(0);
}

const present = (p) => (p.found ? p.found() : existsSync(p.proof));
const missing = PREREQUISITES.filter((p) => !present(p));
if (missing.length === 0) process.exit(0);

const names = missing.map((p) => p.pkg);
const command = `sudo apt-get install -y --no-install-recommends ${names.join(" ")}`;
for (const p of missing) console.error(`prereqs: missing ${p.pkg} (${p.why})`);
if (args.has("--check")) fail();

const root = typeof process.getuid === "function" && process.getuid() === 0;
const sudo = !root && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
if (!root && !sudo) fail("this user may not install packages");
if (!existsSync("/usr/bin/apt-get")) fail("there is no apt-get on this machine");

const run = (argv) => execFileSync(root ? argv[0] : "sudo", root ? argv.slice(1) : argv, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
console.error(`prereqs: installing ${names.join(" ")}`);
try {
  run(["apt-get", "update", "-qq"]);
  run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...names]);
} catch (e) {
  fail(`apt-get failed: ${e.message}`);
}
const still = missing.filter((p) => !present(p));
if (still.length > 0) fail(`still missing after apt-get: ${still.map((p) => p.pkg).join(" ")}`);

function fail(why) {
  if (why) console.error(`prereqs: ${why}.`);
  console.error(`prereqs: install them, then run the tests again:\n  ${command}`);
  process.exit(1);
}
