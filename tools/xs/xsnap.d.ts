// The parts of @agoric/xsnap (JavaScript without type declarations) that the XS runner uses.
declare module "@agoric/xsnap" {
  export interface MeterUsage {
    compute: number | null;
    currentHeapCount: number | null;
    allocate: number | null;
  }
  export interface XSnap {
    evaluate(code: string): Promise<unknown>;
    issueStringCommand(message: string): Promise<{ reply: string; meterUsage: MeterUsage }>;
    makeSnapshotStream(description?: string): AsyncIterable<Uint8Array>;
    close(): Promise<void>;
  }
  export function xsnap(options: Record<string, unknown>): Promise<XSnap>;
}
