// Device entry point: everything else is preloaded in "device".
import { start } from "device";

start();
