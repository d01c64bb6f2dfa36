/** Every console command, in the order `help` lists them: a frozen table (in flash on the device), each command given the unit when it runs. */
import { frozen } from "../../model/frozen.js";
import type { Command } from "../console.js";
import { CONTROL_COMMANDS } from "./control.js";
import { MODEM_COMMANDS } from "./modem.js";
import { MODULE_COMMANDS } from "./modules.js";
import { RECORD_COMMANDS } from "./records.js";
import { SYSTEM_COMMANDS } from "./system.js";

export const CONSOLE_COMMANDS: readonly Command[] = frozen([...SYSTEM_COMMANDS, ...MODULE_COMMANDS, ...RECORD_COMMANDS, ...CONTROL_COMMANDS, ...MODEM_COMMANDS]);
