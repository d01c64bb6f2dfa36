/** Every console command, in the order `help` lists them. */
import type { Command } from "../console.js";
import type { ConsoleSession } from "../session.js";
import type { ConsoleUnit } from "../unit.js";
import { controlCommands } from "./control.js";
import { modemCommands } from "./modem.js";
import { moduleCommands } from "./modules.js";
import { recordCommands } from "./records.js";
import { systemCommands } from "./system.js";

export function consoleCommands(unit: ConsoleUnit, session: ConsoleSession): Command[] {
  const all: Command[] = [];
  all.push(...systemCommands(unit, session, () => all), ...moduleCommands(unit), ...recordCommands(unit), ...controlCommands(unit, session), ...modemCommands(unit));
  return all;
}
