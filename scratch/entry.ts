import { serveJsonCommands } from "../tools/xs/json-commands.js";
import { decode, encode } from "../firmware/dlms/axdr/codec.js";
import { array, structure, octets, int, Tag } from "../firmware/dlms/axdr/data.js";
import { encodeDateTime } from "../firmware/dlms/cosem/date-time.js";
import { profileRows } from "../firmware/dlms/cosem/profile.js";
import { profileReadings } from "../firmware/dlms/integration/d0-view.js";
import { Obis } from "../firmware/dlms/cosem/obis.js";
const cols = [{ classId: 8, ln: Obis.clock, attribute: 2, dataIndex: 0 }, { classId: 1, ln: Uint8Array.of(0,0,96,10,1,255), attribute: 2, dataIndex: 0 }, { classId: 3, ln: Uint8Array.of(1,0,1,8,0,255), attribute: 2, dataIndex: 0 }, { classId: 3, ln: Uint8Array.of(1,0,2,8,0,255), attribute: 2, dataIndex: 0 }];
const rows = [];
for (let i = 0; i < 97; i++) rows.push(structure(octets(encodeDateTime(1767225600 + i * 900, 0)), int(Tag.unsigned, 0), int(Tag.doubleLongUnsigned, 100000 + i), int(Tag.doubleLongUnsigned, 0)));
const raw = encode(array(rows));
let data: any, pr: any;
serveJsonCommands((c: { op: string }) => {
  if (c.op === "noop") return {};
  if (c.op === "decode") { data = decode(raw); return raw.length; }
  if (c.op === "rows") { pr = profileRows(data, cols, 900); return pr.rows.length; }
  if (c.op === "readings") { return profileReadings({ ln: Obis.loadProfile1, columns: cols, scalers: [undefined, undefined, { scaler: 0, unit: 30 }, { scaler: 0, unit: 30 }], rows: pr.rows, skipped: 0 }, 5, 0).length; }
  return {};
});
